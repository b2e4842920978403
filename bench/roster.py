"""bench/roster: a roster import of 50,000 rows, as the job runs it (no HTTP).

A fresh database (SQLite under a temporary directory, or ``--database-url``)
gets an institution with a campus and an academic unit; a CSV of N rows is
generated in memory (not timed), uploaded through ``roster.create`` and then
run by the same worker code the service runs (``roster.runner``), in order:

1. a dry run (checks every row, writes only the report and progress);
2. a commit, mode skip_invalid (creates every profile);
3. the same file committed again (every row unchanged);
4. the file with every tenth row changed, committed all-or-nothing.

It prints rows/s per pass and asserts nothing.

    python -m bench.roster                       # 50,000 rows, SQLite
    python -m bench.roster --rows 5000 --batch-size 500
    python -m bench.roster --database-url postgresql://postgres@127.0.0.1:5432/bench_roster
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
import uuid
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlmodel import Session, select

from servicekit.db import make_engine

from services.participants import roster
from services.participants.config import Settings
from services.participants.db import migrate
from services.participants.models import AcademicUnit, Campus, Institution, Participant, RosterImport
from services.participants.roster.runner import RosterJobs
from services.participants.enums import RosterIdKind, RosterMode, RosterPass

HEADER = ["external_id", "email", "given_name", "family_name", "campus", "academic_unit", "affiliation", "career_stage", "lms_id"]


def roster_csv(rows: int, changed_every: int = 0) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for n in range(rows):
        stage = "postdoctoral" if changed_every and n % changed_every == 0 else "graduate_student"
        writer.writerow([f"A{n:07d}", f"alumna{n}@uni.example", "Alumna", f"Número {n}", "Campus Norte", "ING",
                         "graduate", stage, f"lms-{n}"])  # fmt: skip
    return out.getvalue()


def run_pass(jobs: RosterJobs, engine: Any, import_id: uuid.UUID, pass_kind: RosterPass, mode: RosterMode | None) -> dict[str, Any]:
    with Session(engine, expire_on_commit=False) as session:
        job = session.get(RosterImport, import_id)
        assert job is not None
        roster.start(session, job, pass_kind, mode, jobs.settings)
        session.commit()
    start = perf_counter()
    (claimed,) = jobs.claim(1)
    jobs.run(claimed)  # the worker's own entry point, on this thread
    took = perf_counter() - start
    with Session(engine) as session:
        job = session.get(RosterImport, import_id)
        assert job is not None
        out = roster.public(job)
    return {"seconds": took, "status": out.status, **out.counts.model_dump()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.roster")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-roster-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'participants.db'}"
    migrate(url)
    engine = make_engine(url, pool_size=4, max_overflow=0)
    settings = Settings(database_url=url, roster_batch_size=args.batch_size, roster_max_bytes=200 * 1024 * 1024)
    jobs = RosterJobs(engine, settings)
    with Session(engine) as session:
        slug = f"bench-{uuid.uuid4().hex[:8]}"
        institution = Institution(name="Bench", slug=slug, country="MX", timezone="America/Mexico_City")
        session.add(institution)
        session.flush()
        session.add(Campus(institution_id=institution.id, name="Campus Norte", city="Pachuca"))
        session.add(AcademicUnit(institution_id=institution.id, name="Ingeniería", kind="faculty", code="ING"))
        session.commit()
        institution_id = institution.id

    def upload(text: str) -> uuid.UUID:
        with Session(engine) as session:
            job = roster.create(session, institution_id, text=text, size=len(text.encode()), filename="bench.csv",
                                id_kind=RosterIdKind.sis, created_by="bench", settings=settings)  # fmt: skip
            session.commit()
            return job.id

    text = roster_csv(args.rows)
    print(f"rows: {args.rows:,} ({len(text.encode()) / 1e6:.1f} MB), batch size {args.batch_size}, "
          f"database {engine.dialect.name}, machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    start = perf_counter()
    first = upload(text)
    print(f"upload (header check, row count, store): {perf_counter() - start:.2f} s")
    plan = [
        ("dry run", first, RosterPass.dry_run, None),
        ("commit, skip_invalid (creates)", first, None, RosterMode.skip_invalid),
        ("same file again (unchanged)", None, None, RosterMode.skip_invalid),
        ("1 row in 10 changed, all_or_nothing", None, None, RosterMode.all_or_nothing),
    ]
    for label, import_id, pass_kind, mode in plan:
        if import_id is None:
            import_id = upload(roster_csv(args.rows, changed_every=10 if label.startswith("1 row") else 0))
        result = run_pass(jobs, engine, import_id, pass_kind or RosterPass.commit, mode)
        rate = args.rows / result["seconds"]
        print(f"{label:<40} {result['seconds']:7.2f} s  {rate:9,.0f} rows/s  status {result['status']}  "
              f"created {result['created']:,} updated {result['updated']:,} unchanged {result['unchanged']:,} "
              f"invalid {result['invalid']:,}")  # fmt: skip
    with Session(engine) as session:
        count = len(session.exec(select(Participant.id).where(Participant.institution_id == institution_id)).all())
    print(f"profiles in the database: {count:,}")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
