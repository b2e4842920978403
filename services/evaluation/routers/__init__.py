"""The evaluation service's HTTP API: /v1/instruments, /v1/administrations, /v1/reports and /v1/interviews."""

from fastapi import APIRouter

from servicekit.problems import problem_responses

from services.evaluation.routers import administrations, instruments, interviews, reports

router = APIRouter(responses=problem_responses(500))
router.include_router(instruments.router)
router.include_router(administrations.router)  # /mine before /{administration_id}
router.include_router(reports.router)
router.include_router(interviews.router)  # its fixed paths before /{interview_id}
