"""bench/tenants: one institution's hot reads, alone and beside thousands of other institutions.

Issue 15: other tenants' data must not slow a tenant. In process (each app over
ASGI, its own databases built by its migrations, real token verification,
nothing listens on a port): the participants and sessions apps, each twice,
on two databases holding the *same* rows of one institution (its open call,
its program in mentoring, 30 participants, 15 dyads shaped like the pilots'
as in bench/views: twelve weekly meetings, forms, objectives, diary); one of
the two databases also holds ``--institutions`` other institutions of the same
shape, bulk-inserted (not timed). Every hot endpoint is then read ``--runs``
times on each database, interleaved (alone, crowded, crowded, alone, ...), and
it prints per endpoint the p50 alone, the p50 crowded and their ratio, beside
the target (at most 1.1x). The sessions background sweeps are off (they would
share the process with the requests timed). Figures only, nothing asserted;
it stops by itself.

    python -m bench.tenants                              # SQLite in a temporary directory
    python -m bench.tenants --institutions 500 --runs 15
    python -m bench.tenants --database-url postgresql+psycopg://postgres@127.0.0.1:5432/
        (four empty databases bench_tenants_{participants,sessions}_{alone,crowded} are created there and dropped)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from servicekit.auth import StaticKeySource
from servicekit.db import make_engine
from servicekit.tokens import SigningKey, access_claims

from bench import databases
from bench.views.__main__ import Program as SessionsProgram
from bench.views.__main__ import insert_rows, rows_for
from services.participants.config import Settings as ParticipantsSettings
from services.participants.db import migrate as migrate_participants
from services.participants.main import create_app as participants_app
from services.participants.models import Institution, Participant, Program, ProgramPhase
from services.sessions.config import Settings as SessionsSettings
from services.sessions.db import migrate as migrate_sessions
from services.sessions.main import create_app as sessions_app
from services.sessions.models import ProgramSettings

TARGET = 1.1
ISSUER = "bench"


def institution_rows(iid: uuid.UUID, n: int, today: date, participants: int) -> dict[Any, list[dict[str, Any]]]:
    """One institution in the participants database: two programs (one call open, one in mentoring), their
    phases, ``participants`` people."""
    out: dict[Any, list[dict[str, Any]]] = {Institution: [], Program: [], ProgramPhase: [], Participant: []}
    now = datetime.now(UTC)
    out[Institution].append({"id": iid, "name": f"Universidad {n}", "slug": f"bench-{iid.hex[:12]}", "country": "MX",
                             "timezone": "America/Mexico_City", "default_languages": ["es"], "created_at": now, "updated_at": now})
    for status in ("call_open", "mentoring"):
        pid = uuid.uuid4()
        out[Program].append({
            "id": pid, "institution_id": iid, "name": "Mentoras STEM", "description": "Programa de mentoría.",
            "languages": ["es"], "mode": "one_to_one", "delivery": "hybrid", "max_mentees_per_mentor": 1,
            "meetings_count": 12, "meeting_cadence": "weekly", "feedback_deadline_hours": 48, "confirmation_days": 7,
            "criteria": [], "privacy_notice_version": "2026-1", "privacy_notice_text": "Aviso de privacidad.", "status": status,
            "created_at": now, "updated_at": now})
        start = today - timedelta(days=10) if status == "call_open" else today - timedelta(days=120)
        for k, kind in enumerate(("call", "selection", "training", "matching", "mentoring", "evaluation")):
            out[ProgramPhase].append({"id": uuid.uuid4(), "institution_id": iid, "program_id": pid, "kind": kind,
                                      "starts_on": start + timedelta(days=30 * k), "ends_on": start + timedelta(days=30 * k + 29)})
    for k in range(participants):
        out[Participant].append({"id": uuid.uuid4(), "institution_id": iid, "display_name": f"Participante {n}-{k}",
                                 "email": f"p{k}-{iid.hex[:10]}@bench.example.edu", "account_id": f"bench-{iid.hex[:10]}-{k}",
                                 "created_at": now, "updated_at": now})
    return out


def bulk(engine: Engine, rows: dict[Any, list[dict[str, Any]]]) -> int:
    """Insert rows per model, in the order given, 5,000 per statement."""
    total = 0
    with engine.begin() as conn:
        for model, items in rows.items():
            for i in range(0, len(items), 5000):
                conn.execute(insert(model.__table__), items[i : i + 5000])
            total += len(items)
    return total


def merge(into: dict[Any, list[dict[str, Any]]], more: dict[Any, list[dict[str, Any]]]) -> None:
    for model, items in more.items():
        into.setdefault(model, []).extend(items)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tenants", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--institutions", type=int, default=2000, help="other institutions beside the one measured (default 2000)")
    parser.add_argument("--dyads", type=int, default=15, help="dyads of each institution's program in mentoring (default 15)")
    parser.add_argument("--runs", type=int, default=21, help="requests per endpoint and database (default 21)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server on this machine (default: SQLite files in a temporary directory)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="aliada-bench-tenants-")
    names = [f"bench_tenants_{app}_{kind}" for app in ("participants", "sessions") for kind in ("alone", "crowded")]
    urls, created = databases.create(args.database_url, names, Path(tmp.name))
    try:
        run(args, urls)
    finally:
        if created:
            databases.drop(args.database_url, created)
        tmp.cleanup()


def run(args: argparse.Namespace, urls: dict[str, str]) -> None:
    rng = random.Random(15)
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    key = SigningKey.generate(kid="bench")
    keys = StaticKeySource({"keys": [key.public_jwk]})
    engines: dict[str, Engine] = {}
    for name, url in urls.items():
        (migrate_participants if "participants" in name else migrate_sessions)(url)
        engines[name] = make_engine(url, pool_size=4, max_overflow=0)

    # The institution measured: the same rows in both databases of each app.
    focal = uuid.uuid4()
    p_rows = institution_rows(focal, 0, today, 30)
    call_id = next(p["id"] for p in p_rows[Program] if p["status"] == "call_open")
    s_program = SessionsProgram(focal, now)
    s_rows = rows_for(s_program, args.dyads, rng)
    for kind in ("alone", "crowded"):
        bulk(engines[f"bench_tenants_participants_{kind}"], p_rows)
        with engines[f"bench_tenants_sessions_{kind}"].begin() as conn:
            conn.execute(insert(ProgramSettings.__table__), [s_program.settings_row()])  # type: ignore[attr-defined]
        insert_rows(engines[f"bench_tenants_sessions_{kind}"], s_rows)

    # The others, only in the crowded databases, in batches (bounded memory).
    started, added = time.perf_counter(), 0
    for first in range(1, args.institutions + 1, 250):
        p_batch: dict[Any, list[dict[str, Any]]] = {}
        s_batch: dict[Any, list[dict[str, Any]]] = {}
        settings_rows = []
        for n in range(first, min(first + 250, args.institutions + 1)):
            iid = uuid.uuid4()
            merge(p_batch, institution_rows(iid, n, today, 30))
            other = SessionsProgram(iid, now)
            settings_rows.append(other.settings_row())
            merge(s_batch, rows_for(other, args.dyads, rng))
        added += bulk(engines["bench_tenants_participants_crowded"], p_batch)
        with engines["bench_tenants_sessions_crowded"].begin() as conn:
            conn.execute(insert(ProgramSettings.__table__), settings_rows)  # type: ignore[attr-defined]
        added += insert_rows(engines["bench_tenants_sessions_crowded"], s_batch) + len(settings_rows)
    for engine in engines.values():
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    counts = {}
    with engines["bench_tenants_sessions_crowded"].connect() as conn:
        for table in ("dyads", "meetings", "feedback_forms"):
            counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    with engines["bench_tenants_participants_crowded"].connect() as conn:
        for table in ("institutions", "programs", "participants"):
            counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()

    def token(sub: str, roles: list[str]) -> dict[str, str]:
        claims = access_claims(issuer=ISSUER, audience="aliada", subject=sub, tenant_id=str(focal), roles=roles, scope="",
                               ttl_seconds=3600)
        return {"Authorization": f"Bearer {key.sign(claims)}"}

    coordinator = token("bench-coordinator", ["coordinator"])
    mentee = token(s_rows[next(iter(s_rows))][0]["mentee_account_id"], ["mentee"])
    mentoring = next(p["id"] for p in p_rows[Program] if p["status"] == "mentoring")
    base = f"/v1/dyads/programs/{s_program.id}"
    endpoints: list[tuple[str, str, str, dict[str, str]]] = [
        ("participants", "GET /v1/calls?institution_id", f"/v1/calls?institution_id={focal}", {}),
        ("participants", "GET /v1/calls?limit=1", "/v1/calls?limit=1", {}),
        ("participants", "GET /v1/calls/{id}", f"/v1/calls/{call_id}", {}),
        ("participants", "GET institution's programs", f"/v1/institutions/{focal}/programs", coordinator),
        ("participants", "GET institution's participants", f"/v1/institutions/{focal}/participants", coordinator),
        ("participants", "GET /v1/programs/{id}", f"/v1/programs/{mentoring}", coordinator),
        ("sessions", "GET program dyads", base, coordinator),
        ("sessions", "GET at-risk", base + "/at-risk", coordinator),
        ("sessions", "GET statistics", base + "/statistics", coordinator),
        ("sessions", "GET outcomes", base + "/outcomes", coordinator),
        ("sessions", "GET digest", base + "/digest", coordinator),
        ("sessions", "GET program overdue forms", f"/v1/feedback/programs/{s_program.id}/overdue", coordinator),
        ("sessions", "GET /v1/dyads/mine", "/v1/dyads/mine", mentee),
        ("sessions", "GET dyad meetings", f"/v1/dyads/{s_program.dyads[0]}/meetings", mentee),
    ]
    apps = {}
    for name, url in urls.items():
        if "participants" in name:
            settings: Any = ParticipantsSettings(database_url=url, jwt_issuer=ISSUER, jwt_audience="aliada", log_level="WARNING",
                                                 threadpool_size=4)
            apps[name] = participants_app(settings, key_source=keys, engine=engines[name])
        else:
            # The background sweeps are off: in one process the crowded app's sweep of its thousands of programs
            # would take the interpreter from every request being timed (in service it runs beside them, per replica).
            settings = SessionsSettings(database_url=url, jwt_issuer=ISSUER, jwt_audience="aliada", log_level="WARNING",
                                        threadpool_size=4, overdue_sweep_seconds=0, health_sweep_seconds=0)
            apps[name] = sessions_app(settings, key_source=keys, engine=engines[name])
    dialect = next(iter(engines.values())).dialect.name
    print(f"bench/tenants: {dialect}, in process; one institution alone and beside {args.institutions:,} others "
          f"({added:,} rows added in {time.perf_counter() - started:.0f} s, not timed)")
    print("   crowded databases: " + ", ".join(f"{t} {c:,}" for t, c in counts.items()))
    clients = {name: TestClient(app) for name, app in apps.items()}
    for c in clients.values():
        c.__enter__()
    try:
        times: dict[str, dict[str, list[float]]] = {e[1]: {"alone": [], "crowded": []} for e in endpoints}
        for app_name, label, path, headers in endpoints:  # warm-up (the first at-risk reading assesses the program)
            for kind in ("alone", "crowded"):
                clients[f"bench_tenants_{app_name}_{kind}"].get(path, headers=headers).raise_for_status()
        for run_no in range(args.runs):
            order = ("alone", "crowded") if run_no % 2 == 0 else ("crowded", "alone")
            for app_name, label, path, headers in endpoints:
                for kind in order:
                    client = clients[f"bench_tenants_{app_name}_{kind}"]
                    t = time.perf_counter()
                    r = client.get(path, headers=headers)
                    times[label][kind].append(time.perf_counter() - t)
                    r.raise_for_status()
    finally:
        for c in clients.values():
            c.__exit__(None, None, None)
        for engine in engines.values():
            engine.dispose()
    print(f"   {'endpoint':<32} {'alone (p50)':>12} {'crowded (p50)':>14}   ratio   target <= {TARGET}x")
    worst = 0.0
    for _, label, _, _ in endpoints:
        a, c = statistics.median(times[label]["alone"]), statistics.median(times[label]["crowded"])
        worst = max(worst, c / a)
        print(f"   {label:<32} {a * 1000:9.1f} ms {c * 1000:11.1f} ms   {c / a:5.2f}x  {'meets' if c / a <= TARGET else 'MISSES'}")
    print(f"-- worst ratio {worst:.2f}x over {len(endpoints)} endpoints, {args.runs} requests each per database, interleaved")


if __name__ == "__main__":
    main()
