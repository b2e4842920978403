"""Typed clients of the services the evaluation service reads (models defined here, by the caller)."""

from services.evaluation.clients.upstream import Upstreams

__all__ = ["Upstreams"]
