"""HTTP routes of the participants service, one module per sub-domain, all
under ``/v1`` (paths the gateway routes here: ``/v1/institutions``,
``/v1/programs``, ``/v1/calls``, ``/v1/applications``, ``/v1/participants``,
``/v1/training-modules``)."""

from fastapi import APIRouter

from servicekit.problems import problem_responses

from services.participants.routers import applications, institutions, people, programs, roster, training

# A token check may need the gateway's keys; when they cannot be fetched the
# answer is 503 (servicekit.auth.RemoteKeySource).
router = APIRouter(prefix="/v1", responses=problem_responses(503))
for module in (institutions, programs, applications, people, training, roster):
    router.include_router(module.router)
