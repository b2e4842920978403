"""The matching service's HTTP API, all under /v1/matching (the gateway routes that prefix here)."""

from fastapi import APIRouter

from servicekit.problems import problem_responses

from services.matching.routers import matches, profiles, runs, settings
from services.matching.routers.common import PREFIX

router = APIRouter(prefix=PREFIX, responses=problem_responses(500))
# /matches/mine before /matches/{match_id}.
router.include_router(matches.router)
router.include_router(profiles.router)
router.include_router(settings.router)
router.include_router(runs.router)
