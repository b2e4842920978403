"""The sessions service's HTTP API (the gateway routes these prefixes here)."""

from fastapi import APIRouter

from servicekit.problems import problem_responses

from services.sessions.routers import diary, dyads, feedback, group_events, meetings, milestones, objectives

router = APIRouter(responses=problem_responses(500))
for module in (dyads, meetings, feedback, objectives, milestones, diary, group_events):
    router.include_router(module.router)
