"""Log lines never echo unbounded input: every field is cut to a fixed size,
a traceback line by line and in all, and SQL errors carry no statement
parameters (so no value someone sent, personal or huge, is written out)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from servicekit.app import create_service_app
from servicekit.db import make_engine
from servicekit.logging import MAX_EXCEPTION, MAX_LINE, MAX_VALUE, configure_logging
from servicekit.settings import BaseServiceSettings

HUGE = "v" * 5_000_000


def records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_every_field_of_a_record_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("kit", "INFO")
    log = logging.getLogger("kit.test")
    log.info(HUGE, extra={"value": HUGE, "values": [HUGE] * 500, "nested": {"k": HUGE}})
    try:
        raise ValueError(f"no such zone: {HUGE}")
    except ValueError:
        log.exception("failed with %s", HUGE[:10])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(len(line) < 200_000 for line in lines)
    first, second = records("\n".join(lines))
    assert len(first["event"]) < MAX_VALUE + 50 and len(first["value"]) < MAX_VALUE + 50
    assert len(first["values"]) <= 50 and len(first["nested"]["k"]) < MAX_VALUE + 50
    trace = second["exception"]
    assert len(trace) <= MAX_EXCEPTION + 20
    assert all(len(line) <= MAX_LINE + 40 for line in trace.splitlines())
    assert "ValueError: no such zone: vvv" in trace  # what failed is still said


def test_an_unexpected_error_carrying_a_huge_value_logs_a_bounded_traceback(capsys: pytest.CaptureFixture[str], kit_url: str, key_source: Any) -> None:
    router = APIRouter()

    @router.get("/v1/explode")
    def explode() -> None:
        raise OSError(36, "File name too long", "/usr/share/zoneinfo/" + HUGE)

    settings = BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="INFO")
    app = create_service_app(settings=settings, title="kit", description="logs", routers=[router], key_source=key_source)
    with TestClient(app, raise_server_exceptions=False) as client:
        capsys.readouterr()
        assert client.get("/v1/explode").status_code == 500
    out = capsys.readouterr().out
    assert len(out) < 64 * 1024, len(out)
    assert any("exception" in r and "File name too long" in r["exception"] for r in records(out))


def test_sql_errors_never_carry_the_values_of_the_statement(kit_url: str) -> None:
    engine = make_engine(kit_url, pool_size=1)
    secret = "her diary: " + uuid.uuid4().hex
    row = {"id": uuid.uuid4().hex, "name": secret[:50]}
    insert = text("INSERT INTO widgets (id, name) VALUES (:id, :name)")
    try:
        with Session(engine) as session:
            session.execute(insert, row)
            with pytest.raises(IntegrityError) as info:
                session.execute(insert, row)  # the same id twice
        assert secret[:50] not in str(info.value) and row["id"] not in str(info.value)
        assert "hidden" in str(info.value)
    finally:
        engine.dispose()
