"""bench/matching: the matching engine on seeded synthetic cohorts.

Engine only: scoring, hard rules and the solver, called in-process on cohorts
already built (no HTTP, no database; the Peru figure through the API is a
separate measurement). Each cohort runs in a fresh subprocess, so its peak RSS
(``ru_maxrss``) is its own; that peak includes the cohort's Python objects,
and the RSS before matching is printed beside it. Every figure includes
scoring. The split shows the engine's sections; scoring, feasibility and
candidates run together block by block on worker threads, so their wall time is
split in proportion to the threads' time in each. It prints figures; it asserts
nothing. Goals (issue 4):

    Peru pilot            40 mentees   20 mentors  cap 2  optimal  (< 50 ms end to end through the API)
    large, optimal     5,000 mentees 2,000 mentors cap 3  optimal  < 2 s, RSS < 1 GiB
    large, stable      5,000 mentees 2,500 mentors cap 2  stable   < 5 s
    very large, opt.  20,000 mentees 8,000 mentors cap 3  optimal  < 30 s, RSS < 2 GiB

    python -m bench.matching            # all four
    python -m bench.matching peru       # one of: peru, large-optimal, large-stable, very-large-optimal

"peru" also measures the Peru cohort end to end through the matching API
(``bench/matching/api.py``: in-process ASGI, real token check, SQLite, the
participants service answered at the transport level).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from time import perf_counter


@dataclass(frozen=True)
class Case:
    mentees: int
    mentors: int
    capacity: int
    algorithm: str
    goal_seconds: float
    goal_rss_mib: float | None
    runs: int


CASES = {
    "peru": Case(40, 20, 2, "optimal", 0.05, None, 25),
    "large-optimal": Case(5_000, 2_000, 3, "optimal", 2.0, 1024, 1),
    "large-stable": Case(5_000, 2_500, 2, "stable", 5.0, None, 1),
    "very-large-optimal": Case(20_000, 8_000, 3, "optimal", 30.0, 2048, 1),
}
SEED = 20240601
SECTIONS = ("encode", "scoring", "feasibility", "candidates", "solve", "blocking_pairs")


def measure(name: str) -> dict[str, object]:
    """Run one cohort in this process (the child side) and return its figures."""
    from bench.matching.synthetic import synthetic_cohort
    from services.matching.domain import Settings, match
    from services.matching.enums import Algorithm

    case = CASES[name]
    cohort = synthetic_cohort(case.mentees, case.mentors, case.capacity, SEED)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    settings = Settings(max_capacity=case.capacity, algorithm=Algorithm(case.algorithm))
    walls, results = [], []
    for _ in range(case.runs):
        start = perf_counter()
        results.append(match(cohort, settings))
        walls.append(perf_counter() - start)
    median = sorted(range(case.runs), key=walls.__getitem__)[case.runs // 2]
    result = results[median]
    return {
        "wall": walls[median],
        "timings": dict(result.timings),
        "rss_before": rss_before,
        "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "matched": result.matched,
        "mentees": result.mentees,
        "total": result.total_score,
        "mean": result.mean_score,
        "min": result.min_score,
        "blocking": result.blocking_pairs,
        "substitutes": len(result.substitutes),
        "solver": result.solver,
        "k": result.parameters["candidates_per_mentee"],
        "bound": {
            "exact": result.bound.exact,
            "matched_upper": result.bound.matched_upper,
            "score_upper": result.bound.score_upper,
            "gap": result.bound.gap,
            "relative_gap": result.bound.relative_gap,
        },
        "runs": case.runs,
        "spread": [min(walls), max(walls)] if case.runs > 1 else None,
    }


def report(name: str, f: dict) -> None:
    case = CASES[name]
    bound = f["bound"]
    timings = f["timings"]
    verdict = (
        "meets"
        if f["wall"] < case.goal_seconds and (case.goal_rss_mib is None or f["rss_peak"] < case.goal_rss_mib)
        else "misses"
    )
    goal = f"< {case.goal_seconds:g} s" + (f", RSS < {case.goal_rss_mib / 1024:g} GiB" if case.goal_rss_mib else "")
    print(f"== {name}: {case.mentees:,} mentees, {case.mentors:,} mentors, capacity {case.capacity}, {case.algorithm}")
    runs = f" (median of {f['runs']}, range {f['spread'][0] * 1000:.1f}-{f['spread'][1] * 1000:.1f} ms)" if f["spread"] else ""
    wall = f"{f['wall'] * 1000:.1f} ms" if f["wall"] < 1 else f"{f['wall']:.3f} s"
    print(
        f"   wall {wall}{runs}   goal {goal}: {verdict}"
        + ("  [engine only; the goal is end to end through the API]" if name == "peru" else "")
    )
    print("   split  " + "  ".join(f"{s} {timings.get(s, 0.0):.3f}" for s in SECTIONS))
    print(f"   RSS peak {f['rss_peak']:.0f} MiB (cohort built, before matching: {f['rss_before']:.0f} MiB)")
    print(
        f"   matched {f['matched']:,}/{f['mentees']:,}  total {f['total']:.2f}  mean {f['mean']:.4f}  min {f['min']:.4f}"
        f"  blocking pairs {f['blocking']:,}  substitutes {f['substitutes']}"
    )
    print(f"   solver {f['solver']} (k = {f['k']})")
    print(
        f"   bound: {'exact' if bound['exact'] else 'not proven optimal'}; matched <= {bound['matched_upper']:,}; "
        f"score <= {bound['score_upper']:.2f}; gap {bound['gap']:.2f} ({100 * bound['relative_gap']:.2f} %)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", choices=[[], *CASES], default=[], help="cohorts to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "peru-api":
        import asyncio

        from bench.matching.api import measure as measure_api

        print(json.dumps(asyncio.run(measure_api())))
        return 0
    if args.child:
        print(json.dumps(measure(args.child)))
        return 0
    for name in args.cases or list(CASES):
        out = subprocess.run(
            [sys.executable, "-m", "bench.matching", "--child", name], check=True, capture_output=True, text=True
        )
        report(name, json.loads(out.stdout.strip().splitlines()[-1]))
        if name == "peru":
            from bench.matching.api import report as report_api

            out = subprocess.run(
                [sys.executable, "-m", "bench.matching", "--child", "peru-api"], check=True, capture_output=True, text=True
            )
            report_api(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"seed {SEED}; figures from this machine; engine only (no HTTP, no database), but for the line through the API")
    return 0


if __name__ == "__main__":
    sys.exit(main())
