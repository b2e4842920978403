"""The participants service app: who takes part.

Served by ``uvicorn --factory services.participants.main:create_app`` on
127.0.0.1:8001; the gateway routes ``/v1/institutions``, ``/v1/programs``,
``/v1/calls``, ``/v1/applications``, ``/v1/participants``,
``/v1/training-modules`` and ``/v1/xapi`` here. ``GET /v1/calls`` and ``GET /v1/calls/{program_id}``
need no token.
"""

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from servicekit.app import create_service_app
from servicekit import data_rights
from servicekit.auth import KeySource
from servicekit.db import SESSION_DEPENDENCY
from servicekit.outbox import feed_router

from services.participants import data_rights as participants_data_rights
from services.participants.config import Settings
from services.participants.models import IdempotencyRecord, OutboxEvent
from services.participants.roster import runner as roster_runner
from services.participants.routers import contacts, provisioning, roster, router, xapi

DESCRIPTION = """Who takes part: institutions (the tenants), their campuses and academic
units; programs (cohorts) and their dated phases; the public open call;
applications with per-purpose consent, optional identity data and eligibility
rules; participants and their memberships; training modules and completions;
the funnel and training statistics; data-subject export and erasure.

Every record belongs to one institution. A caller who may not know a record
exists gets 404 for it and everything under it; one who may see it but not do
this gets 403. Authorization rests on the token's institution (`tid`) and
account (`sub`) and on the data (her applications, her memberships), not on
roles alone."""

OPENAPI_TAGS = [
    {"name": "institutions", "description": "Universities using the platform: the tenants. Managed by admins."},
    {"name": "campuses", "description": "An institution's campuses, managed by its coordinators."},
    {"name": "academic-units", "description": "An institution's faculties, schools, departments and programs."},
    {"name": "programs", "description": "Programs (cohorts): settings, dated phases, criteria, status machine."},
    {"name": "calls", "description": "The public open call of a program: readable without a token."},
    {"name": "applications", "description": "Applications: draft, submit, decide, invite, confirm, decline, withdraw."},
    {"name": "eligibility", "description": "Each rule's result and reason; coordinators' overrides."},
    {"name": "consents", "description": "Opt-in consent per purpose, tied to the privacy-notice version; withdrawable."},
    {"name": "identity", "description": "Optional self-described identity data: hers, and matching's with her consent."},
    {"name": "funnel", "description": "Counts per status and per role."},
    {"name": "participants", "description": "Profiles: full for her and coordinators, public for counterparts."},
    {"name": "memberships", "description": "Her place in a program: role, status, trained."},
    {"name": "training", "description": "Training modules, completions (coordinators or an LMS) and statistics."},
    {"name": "xapi", "description": "Training records from an LMS: xAPI statements (a subset), a plain webhook, LMS settings."},
    {"name": "roster-imports", "description": "Participant profiles from a SIS or HR export: upload, dry run, commit."},
    {"name": "data-subjects", "description": "Export and erasure of a person's data, and the record of erasures."},
    {"name": "internal", "description": "Service-to-service: the outbox event feed; data-subject export and erasure."},
    {"name": "health", "description": "Liveness, readiness and metrics."},
]


def create_app(
    settings: Settings | None = None, *, key_source: KeySource | None = None, engine: Engine | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="Aliada participants service",
        description=DESCRIPTION,
        routers=[
            router,
            provisioning.router,
            contacts.router,
            xapi.router,
            feed_router(OutboxEvent, SESSION_DEPENDENCY),
            data_rights.router(participants_data_rights),
        ],
        key_source=key_source,
        engine=engine,
        openapi_tags=OPENAPI_TAGS,
        idempotency_model=IdempotencyRecord,
        on_startup=[roster_runner.start],
        on_shutdown=[roster_runner.stop],
        # Roster files are the one upload: larger than the service's body limit.
        body_limits={roster.UPLOAD_ROUTE: roster.upload_limit(settings)},
    )
