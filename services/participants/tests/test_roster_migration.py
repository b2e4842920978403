"""Migration roster0001 on a database that already holds participants that
memberships reference: it must change participants in place (a rebuild of the
table fails on SQLite as soon as a membership points into it), both ways."""

from __future__ import annotations

import uuid
from typing import Any

from alembic import command
from sqlalchemy import func, insert, select, text

from servicekit.db import make_engine
from servicekit.migrations import alembic_config
from servicekit.outbox import utcnow

from services.participants.db import SERVICE_DIR
from services.participants.models import Application, Institution, Membership, Participant, Program

BEFORE = "6348733353d1"


def _table(model: Any) -> Any:
    return model.__table__


def test_roster0001_keeps_referenced_participants_both_ways(database_factory: Any) -> None:
    url = database_factory.new("participants_roster0001")
    config = alembic_config(SERVICE_DIR, url)
    command.upgrade(config, BEFORE)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    now = utcnow()
    iid, pid, aid, part, mid = (uuid.uuid4() for _ in range(5))
    try:
        with engine.begin() as conn:
            conn.execute(insert(_table(Institution)).values(
                id=iid, name="U", slug=f"u-{iid.hex[:8]}", country="MX", timezone="America/Mexico_City",
                default_languages=["es"], created_at=now, updated_at=now))
            conn.execute(insert(_table(Program)).values(
                id=pid, institution_id=iid, name="P", description="D", languages=["es"], mode="one_to_one",
                delivery="hybrid", max_mentees_per_mentor=1, meetings_count=12, meeting_cadence="weekly",
                feedback_deadline_hours=48, confirmation_days=7, status="draft", status_changed_at=now, criteria=[],
                created_at=now, updated_at=now))
            conn.execute(insert(_table(Application)).values(
                id=aid, institution_id=iid, program_id=pid, applicant_id="ana", role="mentee", status="confirmed",
                evidence=[], created_at=now, updated_at=now))
            conn.execute(insert(_table(Participant)).values(
                id=part, institution_id=iid, account_id="ana", display_name="Ana", languages=[], stem_fields=[],
                created_at=now, updated_at=now))
            conn.execute(insert(_table(Membership)).values(
                id=mid, institution_id=iid, program_id=pid, participant_id=part, application_id=aid, role="mentee",
                status="active", trained=False, created_at=now, updated_at=now))  # fmt: skip
        engine.dispose()

        command.upgrade(config, "heads")
        with engine.begin() as conn:
            conn.execute(insert(_table(Participant)).values(
                id=uuid.uuid4(), institution_id=iid, account_id=None, display_name="Del padrón", email="x@u.mx",
                affiliation="staff", languages=[], stem_fields=[], created_at=now, updated_at=now))  # fmt: skip
            assert conn.execute(select(func.count()).select_from(_table(Participant))).scalar_one() == 2
            assert conn.execute(select(_table(Membership).c.participant_id)).scalar_one() == part
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
                assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        engine.dispose()

        command.downgrade(config, BEFORE)
        with engine.begin() as conn:
            kept = conn.execute(text("SELECT id, account_id FROM participants")).all()
            assert [row[1] for row in kept] == ["ana"], "the unclaimed profile goes, hers stays"
            assert conn.execute(text("SELECT count(*) FROM memberships")).scalar_one() == 1
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        engine.dispose()
        command.upgrade(config, "heads")
    finally:
        engine.dispose()
