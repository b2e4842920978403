"""The notifications service's HTTP API (the gateway routes /v1/notifications here)."""

from fastapi import APIRouter

from servicekit.problems import problem_responses

from services.notifications.routers import deliveries, inbox, preferences

router = APIRouter(responses=problem_responses(500))
for module in (inbox, preferences, deliveries):
    router.include_router(module.router)
