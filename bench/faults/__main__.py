"""bench/faults: what the platform does when a part of it fails under load, as figures.

Builds the platform and its world as bench/load does (PostgreSQL on this
machine), then plays each scenario under the load model (bench/load's locust
users, whose creates carry an ``Idempotency-Key`` and are repeated with it
after a connection failure, a 502, 503 or 504):

- ``kill-sessions``, ``kill-participants``, ``kill-gateway``: kill -9, then a
  restart 5 s later;
- ``term-gateway``: SIGTERM with requests in flight, then a restart;
- ``stop-sessions``: SIGSTOP for 10 s (a dependency that hangs), then SIGCONT;
- ``restart-postgresql``, ``kill-postgresql`` (only with ``--postgresql``: they
  fail every other user of the server too): a fast restart, and kill -9 of the
  postmaster (the cluster restarted 5 s later).

Each scenario runs ``--seconds`` (the fault at a quarter, cleared by the
half). Beside the load, a probe asks the gateway for one cheap read of each
service ten times a second. Afterwards every acknowledged create (diary
entries and objective progress, 201 answers) is read back by its owner, and
each one's marker counted: a missing one is a lost write, a marker seen twice
a duplicate. Printed per scenario: errors by status (the load's and the
probe's), the longest stall (the longest time any probe went without a
successful answer), writes acknowledged, lost and duplicated, and whether it
recovered by itself (the probe answered 200 on every service for the last
quarter with nothing restarted but what failed). Targets (issue 15): no
acknowledged write lost, no duplicate, every error a 503 or 504 problem
within the timeout (never a 500, never a hang), recovery by itself.

    make bench-faults                                  # the five application scenarios
    python -m bench.faults --scenarios kill-gateway stop-sessions --seconds 60
    python -m bench.faults --postgresql                # also restart and kill PostgreSQL

Loopback only; every scenario is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

import httpx
from servicekit import clock

from bench import databases
from bench.load import world
from tools.stack import APPS, REPO, Stack

APP_SCENARIOS = ("kill-sessions", "kill-participants", "kill-gateway", "term-gateway", "stop-sessions")
PG_SCENARIOS = ("restart-postgresql", "kill-postgresql")


class Probe:
    """GETs one cheap read per service through the gateway ten times a second, and
    keeps (service, monotonic time, status) of each answer (status 0: no answer)."""

    def __init__(self, gateway: str, reads: dict[str, tuple[str, str]]) -> None:
        self.gateway, self.reads = gateway, reads
        self.answers: list[tuple[str, float, int]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(name,), daemon=True) for name in reads]

    def _run(self, name: str) -> None:
        path, token = self.reads[name]
        with httpx.Client(base_url=self.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            while not self._stop.is_set():
                try:
                    status = http.get(path).status_code
                except httpx.HTTPError:
                    status = 0
                self.answers.append((name, time.monotonic(), status))
                time.sleep(0.1)

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=70)

    def longest_stall(self, start: float) -> float:
        """The longest time a service went without a 200, from ``start`` on."""
        worst = 0.0
        for name in self.reads:
            last_ok = start
            for service, when, status in self.answers:
                if service == name and when >= start and status == 200:
                    worst, last_ok = max(worst, when - last_ok), when
            tail_end = max((w for s, w, _ in self.answers if s == name), default=start)
            worst = max(worst, tail_end - last_ok)
        return worst

    def healthy_since(self, since: float) -> bool:
        recent = [status for _, when, status in self.answers if when >= since]
        return bool(recent) and all(status == 200 for status in recent)


def pg_cluster() -> tuple[str, str]:
    version = max(os.listdir("/etc/postgresql"))
    return version, "main"


def inject(scenario: str, stack: Stack) -> None:
    """Cause the fault; ``clear`` undoes it."""
    kind, _, target = scenario.partition("-")
    if kind == "kill" and target != "postgresql":
        stack.procs[target].send_signal(signal.SIGKILL)
        stack.procs[target].wait(timeout=10)
    elif kind == "term":
        stack.procs[target].send_signal(signal.SIGTERM)
    elif kind == "stop":
        stack.procs[target].send_signal(signal.SIGSTOP)
    elif scenario == "restart-postgresql":
        version, name = pg_cluster()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"], check=True, timeout=60)
    elif scenario == "kill-postgresql":
        version, name = pg_cluster()
        pid = int(Path(f"/var/lib/postgresql/{version}/{name}/postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)


def clear(scenario: str, stack: Stack) -> None:
    kind, _, target = scenario.partition("-")
    if kind in ("kill", "term") and target != "postgresql":
        proc = stack.procs.pop(target)
        try:
            proc.wait(timeout=30)  # a SIGTERM lets requests in flight finish first
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        stack.start_app(target)
        stack.wait_healthy(120, [target])
    elif kind == "stop":
        stack.procs[target].send_signal(signal.SIGCONT)
    elif scenario == "kill-postgresql":
        version, name = pg_cluster()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"], check=False, timeout=60)


def check_writes(gateway: str, acks_file: Path, tokens: dict[str, str]) -> dict[str, int]:
    """Every acknowledged create read back by its owner, and every marker counted."""
    acks = [json.loads(line) for line in acks_file.read_text(encoding="utf-8").splitlines()] if acks_file.exists() else []
    lost = duplicates = 0
    with httpx.Client(base_url=gateway, timeout=60) as http:
        seen: collections.Counter[str] = collections.Counter()
        lists: set[tuple[str, str, str]] = set()
        for ack in acks:
            headers = {"Authorization": f"Bearer {tokens[ack['email']]}"}
            path = f"/v1/diary/{ack['id']}" if ack["kind"] == "diary" else None
            if path is not None and http.get(path, headers=headers).status_code != 200:
                lost += 1
            lists.add((ack["kind"], ack["email"], ack["dyad_id"] if ack["kind"] == "diary" else ack["objective_id"]))
        for kind, email, owner in lists:
            headers = {"Authorization": f"Bearer {tokens[email]}"}
            if kind == "diary":
                items = http.get("/v1/diary", params={"dyad_id": owner}, headers=headers).json()  # her entries, a list
                texts = [i["text"] for i in items]
            else:
                items = http.get(f"/v1/objectives/{owner}/progress", headers=headers).json()  # a list
                texts = [i.get("note") or "" for i in items]
            for text in texts:
                if "[" in text:
                    seen[text.rsplit("[", 1)[1].rstrip("]")] += 1
            if kind == "progress":
                ids = {i["id"] for i in items}
                lost += sum(1 for a in acks if a["kind"] == "progress" and a["objective_id"] == owner and a["id"] not in ids)
        duplicates = sum(n - 1 for n in seen.values() if n > 1)
    return {"acknowledged": len(acks), "lost": lost, "duplicates": duplicates}


def play(scenario: str, args: argparse.Namespace, stack: Stack, built: dict[str, Any], workdir: Path) -> dict[str, Any]:
    acks = workdir / f"acks-{scenario}.jsonl"
    world_file = workdir / "world.json"
    program = built["programs"][0]
    mentee = next(m for m in program["members"] if m["role"] == "mentee")
    reads = {"sessions": ("/v1/dyads/mine", mentee["token"]), "participants": ("/v1/participants/me", mentee["token"]),
             "evaluation": ("/v1/administrations/mine", mentee["token"])}  # fmt: skip
    log = (workdir / f"{scenario}-locust.log").open("wb")
    load = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(REPO / "bench" / "load" / "locustfile.py"), "--headless",
         "--host", stack.gateway, "--users", str(args.users), "--spawn-rate", str(args.users),
         "--run-time", f"{args.seconds}s", "--stop-timeout", "10", "--csv", str(workdir / scenario),
         "--only-summary", "--loglevel", "ERROR", "--exit-code-on-error", "0"],
        cwd=REPO, env={**os.environ, "ALIADA_LOAD_WORLD": str(world_file), "ALIADA_LOAD_THINK": args.think,
                       "ALIADA_LOAD_ACKS": str(acks)},
        stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    with Probe(stack.gateway, reads) as probe:
        start = time.monotonic()
        time.sleep(args.seconds / 4)
        inject(scenario, stack)
        time.sleep(5 if scenario.startswith("kill") else 10 if scenario.startswith("stop") else 0)
        clear(scenario, stack)
        cleared = time.monotonic()
        remaining = start + args.seconds - time.monotonic()
        time.sleep(max(remaining, 0))
        load.wait(timeout=60)
        log.close()
        end = time.monotonic()
    tokens = {m["email"]: m["token"] for p in built["programs"] for m in p["members"]}
    writes = check_writes(stack.gateway, acks, tokens)
    failures = list(csv.DictReader((workdir / f"{scenario}_failures.csv").read_text(encoding="utf-8").splitlines()))
    errors: collections.Counter[str] = collections.Counter()
    for f in failures:
        what = f["Error"].removeprefix("CatchResponseError(").rstrip(")").strip("'")
        errors[f"{f['Name']}: {what}"] += int(f["Occurrences"])
    for _, when, status in probe.answers:
        if status != 200 and when >= start:
            errors[f"probe: {status or 'no answer'}"] += 1
    quarter = (end - cleared) / 2
    return {
        "scenario": scenario, "errors": dict(errors), "stall": probe.longest_stall(start), **writes,
        "recovered": probe.healthy_since(end - quarter) and all(p.poll() is None for p in stack.procs.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--scenarios", nargs="*", default=None, help=f"default: {' '.join(APP_SCENARIOS)}")
    parser.add_argument("--postgresql", action="store_true", help="also restart and kill the PostgreSQL server (it fails its other users too)")
    parser.add_argument("--seconds", type=int, default=40, help="each scenario's length (default 40)")
    parser.add_argument("--users", type=int, default=20, help="simulated people (default 20)")
    parser.add_argument("--think", default="0.2-1", help="think time, seconds low-high (default 0.2-1)")
    parser.add_argument("--programs", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    args = parser.parse_args()
    scenarios = args.scenarios or [*APP_SCENARIOS, *(PG_SCENARIOS if args.postgresql else ())]
    unknown = set(scenarios) - set(APP_SCENARIOS) - set(PG_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {sorted(unknown)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="aliada-bench-faults-") as tmp:
        workdir = Path(tmp)
        urls, created = databases.create(args.database_url, [f"bench_faults_{app.name}" for app in APPS], workdir)
        stack = Stack(workdir=workdir, database_urls={app.name: urls[f"bench_faults_{app.name}"] for app in APPS}, extra_env={
            "GATEWAY_RATE_LIMIT_PER_TOKEN": "1000000/minute", **{f"{app.prefix}_LOG_LEVEL": "WARNING" for app in APPS},
        })  # fmt: skip
        try:
            stack.start(timeout=180)
            os.environ[clock.ENV] = str(stack.clock_file)
            built = world.build(stack.gateway, stack.admin_token(), args.programs, args.pairs, stack.clock_file)
            (workdir / "world.json").write_text(json.dumps(built), encoding="utf-8")
            for scenario in scenarios:
                results.append(play(scenario, args, stack, built, workdir))
                print(f"  {scenario}: done", flush=True)
        finally:
            stack.stop()
            if created:
                databases.drop(args.database_url, created)
    print(f"\nbench/faults: {args.users} people, {args.seconds} s per scenario, the fault at {args.seconds / 4:.0f} s\n")
    print(f"  {'scenario':<20} {'acked':>6} {'lost':>5} {'dupl':>5} {'stall s':>8} {'recovered':>9}   errors")
    for r in results:
        errors = ", ".join(f"{k} x{v}" for k, v in sorted(r["errors"].items())) or "none"
        print(f"  {r['scenario']:<20} {r['acknowledged']:>6} {r['lost']:>5} {r['duplicates']:>5} {r['stall']:>8.1f} "
              f"{'yes' if r['recovered'] else 'NO':>9}   {errors}")  # fmt: skip
    print("\n  targets: lost 0, duplicates 0, errors only 503/504 problems (no 500, no hang), recovered by itself")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
