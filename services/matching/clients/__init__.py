"""Typed clients for the services matching calls, with caller-side models."""
