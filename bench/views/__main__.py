"""bench/views: the program views of the sessions service as one program grows.

In process (the sessions app over ASGI, its own database built by its
migrations, real token verification, loopback nothing). One program grows from
15 to 500 to 5,000 dyads beside a small one of 15 that never changes; rows are
bulk-inserted, shaped like the pilots' (twelve weekly meetings, eight of them
past: most held and confirmed by both, some moved, a few cancelled or never
confirmed; two forms per held meeting, half of them 1-14 days late; one to
three objectives with progress; diary entries). At each size every view is
read ``--runs`` times for each program (fewer, at least 3, once a view has
taken ``--budget`` seconds), interleaved, and it prints the p50 and the SQL
statements per request (counted on the engine), beside the targets (issue 15):
the 500-dyad program within 1.5x the 15-dyad one, 5,000 dyads under 1 s.
Ratios come from the same run. The at-risk list is read as coordinators read
it (from the stored assessments) and cold (the reassessment of the whole
program that the background sweep makes every 45 minutes, forced before each
of those requests). Figures only, nothing asserted.

    python -m bench.views                       # SQLite in a temporary directory
    python -m bench.views --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_views
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, insert, text

from servicekit.auth import StaticKeySource
from servicekit.db import make_engine
from servicekit.tokens import SigningKey, access_claims

from services.sessions.config import Settings
from services.sessions.db import migrate
from services.sessions.dyads import DEFAULT_FEEDBACK_ITEMS
from services.sessions.main import create_app
from services.sessions.models import DiaryEntry, Dyad, FeedbackForm, Meeting, MeetingChange, Objective, ProgramSettings, ProgressEntry

ITEMS = [i["code"] for i in DEFAULT_FEEDBACK_ITEMS]
VIEWS = ("at-risk", "at-risk, cold", "statistics", "outcomes", "digest", "dyad health")
"""``at-risk, cold``: the at-risk list when the program's stored assessment has expired: the whole program is assessed
again first. In service the background health sweep does this every 45 minutes, so a request meets it only when the
sweep is off."""


class Program:
    def __init__(self, institution: uuid.UUID, now: datetime) -> None:
        self.institution, self.id, self.now = institution, uuid.uuid4(), now
        self.start = now - timedelta(weeks=8, days=3)
        self.dyads: list[uuid.UUID] = []

    def settings_row(self) -> dict[str, Any]:
        return {"program_id": self.id, "institution_id": self.institution, "delivery": "hybrid", "meetings_count": 12,
                "cadence": "weekly", "duration_minutes": 60, "mentoring_starts_on": self.start.date(),
                "mentoring_ends_on": (self.start + timedelta(weeks=13)).date(), "feedback_deadline_hours": 48.0,
                "feedback_items": DEFAULT_FEEDBACK_ITEMS, "counterpart_reads_feedback": False, "health_thresholds": {},
                "updated_at": self.start}


def rows_for(p: Program, count: int, rng: random.Random) -> dict[Any, list[dict[str, Any]]]:
    """``count`` more dyads of program ``p``, as rows per table."""
    out: dict[Any, list[dict[str, Any]]] = {t: [] for t in (Dyad, Meeting, MeetingChange, FeedbackForm, Objective, ProgressEntry, DiaryEntry)}
    iid = p.institution
    for _ in range(count):
        did = uuid.uuid4()
        p.dyads.append(did)
        n = len(p.dyads)
        mentee, mentor = f"bench-mentee-{p.id.hex[:6]}-{n}", f"bench-mentor-{p.id.hex[:6]}-{n}"
        first = p.start + timedelta(days=rng.randrange(0, 5), hours=rng.randrange(9, 18))
        out[Dyad].append({
            "id": did, "institution_id": iid, "program_id": p.id, "mentee_participant_id": uuid.uuid4(),
            "mentor_participant_id": uuid.uuid4(), "mentee_account_id": mentee, "mentor_account_id": mentor,
            "mentee_timezone": "America/Mexico_City", "mentor_timezone": "America/Mexico_City", "mentee_availability": [],
            "mentor_availability": [], "preferred_delivery": "hybrid", "status": "active", "schedule_status": "ok",
            "schedule_slot": "Mon 10:00 America/Mexico_City", "schedule_reasons": [], "health_status": None,
            "activated_at": p.start - timedelta(days=4), "ended_at": None, "end_reason": None,
        })
        late_mentee, late_mentor = rng.random() < 0.33, rng.random() < 0.33
        for k in range(12):
            planned = first + timedelta(weeks=k)
            start, status, moves = planned, "scheduled", 0
            mid = uuid.uuid4()
            if rng.random() < (0.25 if k >= 8 else 0.06):
                moves = 1
                start = planned + timedelta(days=rng.randint(1, 3))
                out[MeetingChange].append({"id": uuid.uuid4(), "institution_id": iid, "meeting_id": mid, "kind": "rescheduled",
                                           "by": "mentor", "from_start": planned, "to_start": start, "reason": "Cierre del semestre",
                                           "at": planned - timedelta(days=2)})
                status = "rescheduled"
            end = start + timedelta(hours=1)
            mentee_at = mentor_at = None
            if end < p.now:
                roll = rng.random()
                if roll < 0.03:
                    status = "cancelled"
                    out[MeetingChange].append({"id": uuid.uuid4(), "institution_id": iid, "meeting_id": mid, "kind": "cancelled",
                                               "by": "mentee", "from_start": start, "to_start": None, "reason": "Viaje",
                                               "at": start - timedelta(days=1)})
                elif roll < 0.06 or (end + timedelta(hours=20) > p.now):
                    pass  # never confirmed (or not yet)
                else:
                    status = "held"
                    mentee_at = end + timedelta(hours=rng.uniform(0.1, 20))
                    mentor_at = end + timedelta(hours=rng.uniform(0.1, 30)) if rng.random() < 0.95 else None
                    due = end + timedelta(hours=48)
                    for role, account, late in (("mentee", mentee, late_mentee), ("mentor", mentor, late_mentor)):
                        days = rng.randint(1, 14) if rng.random() < (0.85 if late else 0.3) else 0
                        sent: datetime | None = due - timedelta(hours=rng.uniform(1, 40)) if days == 0 else due + timedelta(days=days - 1, hours=3)
                        if sent is not None and sent > p.now:
                            sent = None
                        ratings = {c: rng.randint(3, 5) for c in ITEMS} if sent else {}
                        out[FeedbackForm].append({
                            "id": uuid.uuid4(), "institution_id": iid, "program_id": p.id, "dyad_id": did, "meeting_id": mid,
                            "respondent_role": role, "respondent_account_id": account, "due_at": due, "submitted_at": sent,
                            "ratings": ratings, "rating": sum(ratings.values()) / len(ratings) if ratings else None,
                            "comments": None, "meeting_took_place": True if sent else None,
                            "on_time": None if sent is None else days == 0, "delay_days": None if sent is None else days,
                            "overdue_announced_at": None})
            out[Meeting].append({
                "id": mid, "institution_id": iid, "dyad_id": did, "number": k + 1, "planned_start": planned, "start": start,
                "duration_minutes": 60, "modality": "virtual", "link": "https://meet.example.org/x", "place": None, "status": status,
                "reschedules": moves, "sequence": moves, "mentee_confirmed_at": mentee_at, "mentor_confirmed_at": mentor_at,
                "notes": None, "created_at": p.start, "updated_at": p.start})
        for j in range(rng.randint(1, 3)):
            oid = uuid.uuid4()
            created = first + timedelta(hours=2 + j)
            out[Objective].append({
                "id": oid, "institution_id": iid, "program_id": p.id, "dyad_id": did,
                "statement": "Submit two research grant applications to national calls", "metric": "applications submitted",
                "baseline": 0.0, "target": 4.0, "unit": "applications", "direction": "increase", "plan": "One draft a month",
                "resources": ["mentor review"], "career_goal": "Lead my own research group", "due_date": (p.start + timedelta(weeks=12)).date(),
                "set_on": created.date(), "mentee_perceived": None, "mentor_perceived": None, "created_at": created})
            value = 0.0
            for week in range(1, 8):
                if rng.random() < 0.5:
                    value = min(4.0, value + rng.choice((0.5, 1.0)))
                    out[ProgressEntry].append({"id": uuid.uuid4(), "institution_id": iid, "objective_id": oid, "value": value,
                                               "note": None, "meeting_id": None, "recorded_at": first + timedelta(weeks=week, hours=3)})
        if rng.random() < 0.75:
            for week in range(8):
                if rng.random() < 0.6:
                    at = first + timedelta(weeks=week, days=2)
                    out[DiaryEntry].append({"id": uuid.uuid4(), "institution_id": iid, "dyad_id": did, "author_account_id": mentee,
                                            "text": "Avances de la semana", "entry_date": at.date(), "objective_id": None,
                                            "meeting_id": None, "shared_at": None, "created_at": at})
    return out


def insert_rows(engine: Any, rows: dict[Any, list[dict[str, Any]]]) -> int:
    total = 0
    with engine.begin() as conn:
        for model, items in rows.items():
            table = model.__table__  # type: ignore[attr-defined]
            for i in range(0, len(items), 5000):
                conn.execute(insert(table), items[i : i + 5000])
            total += len(items)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.views", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="15,500,5000", help="sizes of the growing program (default 15,500,5000)")
    parser.add_argument("--runs", type=int, default=7, help="requests per view, program and size (default 7)")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per view and size before fewer runs (default 20)")
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = tempfile.TemporaryDirectory(prefix="aliada-bench-views-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'sessions.db'}"
    migrate(url)
    engine = make_engine(url, pool_size=4, max_overflow=0)
    statements: list[int] = [0]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    rng = random.Random(15)
    now = datetime.now(UTC)
    institution = uuid.uuid4()
    small, big = Program(institution, now), Program(institution, now)
    with engine.begin() as conn:
        conn.execute(insert(ProgramSettings.__table__), [small.settings_row(), big.settings_row()])  # type: ignore[attr-defined]
    insert_rows(engine, rows_for(small, 15, rng))
    key = SigningKey.generate(kid="bench")
    settings = Settings(database_url=url, jwt_issuer="bench", jwt_audience="aliada", log_level="WARNING", threadpool_size=4)
    app = create_app(settings, key_source=StaticKeySource({"keys": [key.public_jwk]}), engine=engine)
    token = key.sign(access_claims(issuer="bench", audience="aliada", subject="bench-coordinator", tenant_id=str(institution),
                                   roles=["coordinator"], scope="", ttl_seconds=3600))
    headers = {"Authorization": f"Bearer {token}"}
    print(f"bench/views: {engine.dialect.name}, in process; a program of 15 dyads beside one growing to {sizes[-1]:,}; "
          f"p50 of {args.runs} requests per view, interleaved")
    results: dict[int, dict[str, dict[str, tuple[float, int]]]] = {}
    with TestClient(app) as client:
        for size in sizes:
            t = time.perf_counter()
            added = insert_rows(engine, rows_for(big, size - len(big.dyads), rng))
            if engine.dialect.name == "postgresql":
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE"))
            print(f"-- the growing program at {size:,} dyads ({added:,} rows added in {time.perf_counter() - t:.1f} s, not timed)")
            paths, programs = {}, {"small": small, "big": big}
            for name, p in programs.items():
                base = f"/v1/dyads/programs/{p.id}"
                paths[name] = {"at-risk": base + "/at-risk", "at-risk, cold": base + "/at-risk", "statistics": base + "/statistics",
                               "outcomes": base + "/outcomes", "digest": base + "/digest",
                               "dyad health": f"/v1/dyads/{p.dyads[0]}/health"}
            for name in paths:  # warm-up: the first at-risk reading assesses the program and stores colours and norms
                client.get(paths[name]["at-risk"], headers=headers).raise_for_status()
            times: dict[str, dict[str, list[float]]] = {n: {v: [] for v in VIEWS} for n in paths}
            counts: dict[str, dict[str, int]] = {n: {} for n in paths}
            spent: dict[str, float] = dict.fromkeys(VIEWS, 0.0)
            for run in range(args.runs):
                for view in VIEWS:
                    if run >= 3 and spent[view] > args.budget:
                        continue
                    for name in ("small", "big"):
                        if view == "at-risk, cold":  # the stored assessment expires (not timed)
                            with engine.begin() as conn:
                                conn.execute(text("UPDATE program_settings SET health_norms_at = NULL WHERE program_id = :p"),
                                             {"p": programs[name].id.hex if engine.dialect.name == "sqlite" else programs[name].id})
                        before = statements[0]
                        start = time.perf_counter()
                        r = client.get(paths[name][view], headers=headers)
                        elapsed = time.perf_counter() - start
                        times[name][view].append(elapsed)
                        spent[view] += elapsed
                        counts[name][view] = statements[0] - before
                        r.raise_for_status()
            results[size] = {n: {v: (statistics.median(times[n][v]), counts[n][v]) for v in VIEWS} for n in paths}
            print(f"   {'view':<14} {'15 dyads (p50)':>15} {'queries':>8}   {f'{size:,} dyads (p50)':>18} {'queries':>8}   ratio   runs")
            for view in VIEWS:
                (s_t, s_q), (b_t, b_q) = results[size]["small"][view], results[size]["big"][view]
                print(f"   {view:<14} {s_t * 1000:12.1f} ms {s_q:8}   {b_t * 1000:15.1f} ms {b_q:8}   {b_t / s_t:5.2f}x"
                      f"  {len(times['big'][view])}")
    print("-- targets (issue 15)")
    if 500 in results:
        for view in VIEWS:
            s_t, b_t = results[500]["small"][view][0], results[500]["big"][view][0]
            print(f"   {view:<14} 500 dyads within 1.5x of 15: {b_t / s_t:5.2f}x   {'meets' if b_t / s_t <= 1.5 else 'MISSES'}")
    if 5000 in results:
        for view in VIEWS:
            b_t = results[5000]["big"][view][0]
            print(f"   {view:<14} 5,000 dyads under 1 s: {b_t * 1000:7.0f} ms   {'meets' if b_t < 1 else 'MISSES'}")
    reads = [v for v in VIEWS if v != "at-risk, cold"]
    counts_by_size = {size: [results[size]["big"][v][1] for v in reads] for size in results}
    same = len({tuple(c) for c in counts_by_size.values()}) == 1
    print(f"   statements per request the same at every size ({', '.join(reads)}): {'yes' if same else 'NO'} {counts_by_size}")
    cold = {size: results[size]["big"]["at-risk, cold"][1] for size in results}
    print(f"   at-risk, cold: {cold} (it also stores the colours that changed: one UPDATE per pair of old and new colours)")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
