"""bench/soak: the load model (bench/load) held for minutes, watching what drifts.

Starts the platform as bench/load does (tools.stack on loopback ports; its
databases created on the PostgreSQL server at 127.0.0.1:5432 and dropped at
the end), builds the same world through the public API (bench/load/world.py)
and runs bench/load's locust users unchanged (bench/soak/locustfile.py
imports them and adds a per-minute request hook) for ``--minutes`` after the
ramp. Every ``--sample`` seconds while it runs it records each app process's
RSS (psutil, on the stack's pids) and the PostgreSQL connections of each
bench database (pg_stat_activity, by datname).

It prints, beside the targets of issue 15 (item 9), with PASS or MISS:

- per minute: requests, 5xx, other errors, p50 and p99;
- 5xx over the whole run (ramp included): target 0;
- p99 drift from the first minute to the last: target at most +20 % (a p99
  that falls is no drift to worry about);
- each process's RSS at its first sample after one minute of load (the
  warm-up) and at its last, and the growth: target at most 10 %;
- each database's most connections seen, against its app's pool maximum
  (threadpool size + overflow, servicekit.settings ``db_pool``): bounded.

It asserts nothing. Loopback only, bounded in time, stops by itself; the
processes and databases are cleaned up on Ctrl-C, SIGTERM or an error too.
The load generator shares the machine with the platform.

    make bench-soak                        # 10 minutes, 60 people
    python -m bench.soak --minutes 2       # a short check
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from servicekit import clock
from sqlalchemy import text

from bench import databases
from bench.load import world
from tools.stack import APPS, REPO, Stack, terminate

TARGET_5XX, TARGET_DRIFT, TARGET_RSS = 0, 20.0, 10.0
WARM_UP = 60.0
PREFIX = "bench_soak_"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def pool_maximum(stack: Stack) -> dict[str, int]:
    """Each app's most database connections: its settings, read from the environment the stack gives it."""
    out = {}
    for app in APPS:
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(stack.env_for(app))
            settings = importlib.import_module(f"{app.package}.config").Settings()
            pool = settings.db_pool
        finally:
            os.environ.clear()
            os.environ.update(saved)
        out[app.name] = pool["pool_size"] + pool["max_overflow"]
    return out


class Sampler:
    """RSS per app process and PostgreSQL connections per bench database, one sample at a time."""

    def __init__(self, stack: Stack, base: str | None) -> None:
        self.stack = stack
        self.admin = databases._server(base)[1] if base else None
        self.rss: list[tuple[float, dict[str, int | None]]] = []
        self.connections: list[tuple[float, dict[str, int]]] = []
        self.max_connections = 0
        if self.admin is not None:
            with self.admin.connect() as conn:
                self.max_connections = int(
                    conn.execute(text("SHOW max_connections")).scalar_one()
                )

    def sample(self, at: float) -> None:
        rss: dict[str, int | None] = {}
        for name, proc in self.stack.procs.items():
            try:
                p = psutil.Process(proc.pid)
                rss[name] = p.memory_info().rss + sum(
                    c.memory_info().rss for c in p.children(recursive=True)
                )
            except psutil.Error:
                rss[name] = None  # it exited
        self.rss.append((at, rss))
        if self.admin is not None:
            with self.admin.connect() as conn:
                rows = conn.execute(text("SELECT datname, count(*) FROM pg_stat_activity WHERE datname LIKE :p GROUP BY datname"),
                                    {"p": PREFIX + "%"}).all()  # fmt: skip
            self.connections.append((at, {name: n for name, n in rows}))

    def close(self) -> None:
        if self.admin is not None:
            self.admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "--minutes",
        type=int,
        default=10,
        help="how long the load runs once everyone started (default 10)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=60,
        help="simulated people at once (default 60, as bench/load)",
    )
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=10.0,
        help="people who start per second (default 10)",
    )
    parser.add_argument(
        "--think",
        default="0.5-2",
        help="think time between a person's requests, seconds low-high (default 0.5-2)",
    )
    parser.add_argument(
        "--programs",
        type=int,
        default=3,
        help="programs (universities) in the world (default 3)",
    )
    parser.add_argument(
        "--pairs", type=int, default=5, help="dyads per program (default 5)"
    )
    parser.add_argument(
        "--sample",
        type=float,
        default=10.0,
        help="seconds between samples of RSS and connections (default 10)",
    )
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/",
                        help="a PostgreSQL server on this machine (default 127.0.0.1:5432); 'sqlite' for SQLite files (no connection counts)")  # fmt: skip
    args = parser.parse_args()
    if args.minutes < 2:
        parser.error(
            "--minutes: at least 2 (the first minute is the warm-up of the RSS figures)"
        )
    base = None if args.database_url == "sqlite" else args.database_url

    def terminated(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminated)
    load_before = os.getloadavg()
    locust: subprocess.Popen | None = None
    sampler: Sampler | None = None
    with tempfile.TemporaryDirectory(prefix="aliada-bench-soak-") as tmp:
        workdir = Path(tmp)
        urls, created = databases.create(
            base, [f"{PREFIX}{app.name}" for app in APPS], workdir
        )
        stack = Stack(workdir=workdir, database_urls={app.name: urls[f"{PREFIX}{app.name}"] for app in APPS}, extra_env={
            # As bench/load: real people each have a token of their own; the per-token limit is not what is measured.
            "GATEWAY_RATE_LIMIT_PER_TOKEN": "1000000/minute",
            **{f"{app.prefix}_LOG_LEVEL": "WARNING" for app in APPS},
        })  # fmt: skip
        try:
            stack.start(timeout=180)
            pools = pool_maximum(stack)
            started = time.perf_counter()
            os.environ[clock.ENV] = str(
                stack.clock_file
            )  # this process and locust's read the platform's clock
            built = world.build(
                stack.gateway,
                stack.admin_token(),
                args.programs,
                args.pairs,
                stack.clock_file,
            )
            setup = time.perf_counter() - started
            world_file, minutes_file = workdir / "world.json", workdir / "minutes.json"
            world_file.write_text(json.dumps(built), encoding="utf-8")
            ramp = args.users / args.spawn_rate
            run_time = (
                int(ramp + 0.999) + args.minutes * 60 + 5
            )  # a few seconds past the last whole minute
            sampler = Sampler(stack, base)
            print(f"bench/soak: world built in {setup:.0f} s; {args.users} people for {args.minutes} min "
                  f"(load average {load_before[0]:.1f} before the start)", flush=True)  # fmt: skip
            with open(workdir / "locust.log", "wb") as log:
                locust = subprocess.Popen(
                    [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
                     "--host", stack.gateway, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
                     "--run-time", f"{run_time}s", "--stop-timeout", "5", "--only-summary", "--loglevel", "WARNING",
                     "--exit-code-on-error", "0"],
                    cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, "ALIADA_LOAD_WORLD": str(world_file), "ALIADA_LOAD_THINK": args.think,
                         "ALIADA_SOAK_MINUTES": str(minutes_file),
                         "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "libs"), str(REPO), os.environ.get("PYTHONPATH")]))},
                )  # fmt: skip
            t0 = time.monotonic()
            deadline = t0 + run_time + 120
            next_sample, next_progress = t0, t0 + 60
            while locust.poll() is None:
                now = time.monotonic()
                if now > deadline:
                    raise RuntimeError("locust did not stop by itself")
                if now >= next_sample:
                    sampler.sample(now - t0)
                    next_sample += args.sample
                if now >= next_progress:
                    progress(sampler, now - t0, pools)
                    next_progress += 60
                time.sleep(0.5)
            if locust.returncode != 0:
                print(
                    (workdir / "locust.log").read_text(errors="replace")[-3000:],
                    file=sys.stderr,
                )
                return 1
            minutes = (
                json.loads(minutes_file.read_text(encoding="utf-8"))
                if minutes_file.exists()
                else []
            )
            report(
                args,
                setup,
                built,
                ramp,
                minutes,
                sampler,
                pools,
                load_before,
                os.getloadavg(),
            )
        except KeyboardInterrupt:
            print(
                "\nbench/soak: interrupted; stopping the load and the platform, dropping the databases",
                file=sys.stderr,
            )
            return 130
        finally:
            if locust is not None:
                terminate(locust, grace=15)
            if sampler is not None:
                sampler.close()
            stack.stop()
            if created:
                with contextlib.suppress(KeyboardInterrupt):
                    databases.drop(base, created)
    return 0


def progress(sampler: Sampler, at: float, pools: dict[str, int]) -> None:
    _, rss = sampler.rss[-1]
    conns = sampler.connections[-1][1] if sampler.connections else {}
    print(f"  {at / 60:4.1f} min: RSS MiB " + ", ".join(f"{n} {v / 2**20:.0f}" if v else f"{n} gone" for n, v in rss.items())
          + "; connections " + ", ".join(f"{n.removeprefix(PREFIX)} {c}" for n, c in sorted(conns.items())), flush=True)  # fmt: skip


def report(args: argparse.Namespace, setup: float, built: dict, ramp: float, minutes: list[dict], sampler: Sampler,
           pools: dict[str, int], load_before: tuple, load_after: tuple) -> None:  # fmt: skip
    members = sum(len(p["members"]) for p in built["programs"])
    print(f"\nbench/soak: {args.users} people (think time {args.think} s) for {args.minutes} min after a ramp of {ramp:.0f} s, "
          f"on {args.programs} programs ({members} mentors and mentees); world built through the API in {setup:.0f} s; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1-min)\n")  # fmt: skip

    def fives(m: dict) -> int:
        return sum(n for s, n in m["statuses"].items() if s.startswith("5"))

    whole = [m for m in minutes if 1 <= m["minute"] <= args.minutes]
    print(
        f"  {'minute':>6} {'requests':>9} {'req/s':>6} {'5xx':>5} {'other errors':>13} {'p50 ms':>7} {'p99 ms':>7}"
    )
    for m in whole:
        other = sum(
            n
            for s, n in m["statuses"].items()
            if not s.startswith(("2", "5")) and s not in ("401", "409")
        )
        print(
            f"  {m['minute']:>6} {m['requests']:>9} {m['requests'] / 60:>6.1f} {fives(m):>5} {other:>13} {m['p50']:>7.0f} {m['p99']:>7.0f}"
        )
    statuses: dict[str, int] = {}
    for m in minutes:
        for s, n in m["statuses"].items():
            statuses[s] = statuses.get(s, 0) + n
    print("  statuses over the whole run (ramp and the few seconds past the last minute included): "
          + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))  # fmt: skip
    failures: dict[str, int] = {}
    for m in minutes:
        for what, n in m["failures"].items():
            failures[what] = failures.get(what, 0) + n
    if failures:
        print(
            "  failures (as the load model marks them) by group and status, whole run:"
        )
        for what, n in sorted(failures.items(), key=lambda kv: -kv[1]):
            print(f"    {what:<90} {n:>6}")
    total_5xx = sum(fives(m) for m in minutes)
    print(
        f"\n  5xx over the whole run:  {total_5xx:>6}                           target {TARGET_5XX}          {verdict(total_5xx <= TARGET_5XX)}"
    )
    if len(whole) >= 2 and whole[0]["p99"]:
        first, last = whole[0], whole[-1]
        drift = 100.0 * (last["p99"] - first["p99"]) / first["p99"]
        print(f"  p99 drift, minute {first['minute']} -> {last['minute']}: {first['p99']:.0f} -> {last['p99']:.0f} ms, {drift:+.0f} %"
              f"{'':<6}target <= +{TARGET_DRIFT:.0f} %   {verdict(drift <= TARGET_DRIFT)}")  # fmt: skip
    else:
        print(f"  p99 drift: not measured ({len(whole)} whole minutes recorded)   MISS")

    warm = [(at, rss) for at, rss in sampler.rss if at >= ramp + WARM_UP]
    print(
        f"\n  {'process':<14} {'RSS after warm-up':>18} {'RSS at the end':>15} {'growth':>8}   target <= {TARGET_RSS:.0f} %"
    )
    if len(warm) >= 2:
        (t_first, first), (t_last, last) = warm[0], warm[-1]
        for name in pools:
            a, b = first.get(name), last.get(name)
            if not a or not b:
                print(f"  {name:<14} {'(process exited)':>42}   MISS")
                continue
            growth = 100.0 * (b - a) / a
            print(
                f"  {name:<14} {a / 2**20:>14.1f} MiB {b / 2**20:>11.1f} MiB {growth:>+7.1f} %   {verdict(growth <= TARGET_RSS)}"
            )
        print(
            f"  (samples at {t_first / 60:.1f} and {t_last / 60:.1f} min after locust started, whose ramp is the first {ramp:.0f} s; {len(sampler.rss)} samples every {args.sample:.0f} s)"
        )
    else:
        print("  not enough samples after the warm-up")

    if sampler.connections:
        print(
            f"\n  {'database':<26} {'most connections':>16} {'pool maximum':>13}   target: bounded by the pool"
        )
        highest_total = max(sum(c.values()) for _, c in sampler.connections)
        for app, maximum in pools.items():
            most = max(c.get(PREFIX + app, 0) for _, c in sampler.connections)
            print(
                f"  {PREFIX + app:<26} {most:>16} {maximum:>13}   {verdict(most <= maximum)}"
            )
        print(f"  all six together at most {highest_total} at once; the server allows {sampler.max_connections} "
              f"(pools summed: {sum(pools.values())}); {len(sampler.connections)} samples")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
