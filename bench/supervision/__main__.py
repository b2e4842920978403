"""bench/supervision: does dyad health warn before a breakdown, and only then?

Seeded cohorts with the pilots' noise (bench/supervision/cohorts.py) are
assessed every day as of that day with the real domain code
(``domain.assess_cohort``: the program's norms at that moment, then every
dyad), under the default policy (or the one given as JSON). It prints, by
breakdown kind and overall: recall (broken dyads warned before they were
dissolved, at any level and at red), the median lead time before the
dissolution, precision, and the weekly false-alarm rate among healthy dyads,
beside the targets (issue 10): recall >= 0.9 with a median lead time >= 7
days; in any week <= 10 % of healthy dyads at amber or red and <= 2 % at red.

Then, not tuned on: other seeds, a Peru-like program (40 dyads, mentors with two
mentees, five monthly meetings), a program where 70 % of forms are late; and
the Mexico pilot replayed: 14 dyads, one losing rapport after its third meeting
and stopping, dissolved two to three weeks later.

Deterministic for a seed; figures only, nothing asserted.

    make bench-supervision            # or: python -m bench.supervision --cohorts 200 --seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time

from services.sessions.domain import HealthPolicy

from .cohorts import KINDS, LATE70, MEXICO, PERU, PILOT, ProgramShape, cohort
from .evaluate import RunResult, run, score, summarise


def _pct(x: float | None) -> str:
    return "   -  " if x is None else f"{100 * x:5.1f} %"


def _days(x: float | None) -> str:
    return "   -" if x is None else f"{x:5.1f}"


def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def report(title: str, r: RunResult, seconds: float) -> dict[str, object]:
    s = summarise(r)
    print(f"== {title}")
    kinds = ", ".join(f"{k} {s['by_kind'][k]['n']}" for k in KINDS)  # type: ignore[index]
    print(f"   {r.cohorts} cohorts, {r.dyads:,} dyads, {r.broken} broken down ({kinds}); {seconds:.0f} s")
    print("   kind        dyads   recall any   recall red   median lead any   median lead red (days before dissolution)")
    for kind in (*KINDS, "all"):
        k = s["by_kind"][kind]  # type: ignore[index]
        print(f"   {kind:<10} {k['n']:6}   {_pct(k['recall_any'])}      {_pct(k['recall_red'])}      {_days(k['lead_any'])}"
              f"             {_days(k['lead_red'])}")
    weekly: dict[int, tuple[float, float]] = s["weekly"]  # type: ignore[assignment]
    worst_any = max(weekly, key=lambda w: weekly[w][0])
    worst_red = max(weekly, key=lambda w: weekly[w][1])
    print(f"   weekly false alarms among healthy dyads (Mondays 09:00, {len(weekly)} weeks):")
    print(f"     amber or red: worst {_pct(s['fa_any_worst'])} (week {worst_any}), mean {_pct(s['fa_any_mean'])}"
          f"   target <= 10 % in any week: {_verdict(s['fa_any_worst'] <= 0.10)}")  # type: ignore[operator]
    print(f"     red:          worst {_pct(s['fa_red_worst'])} (week {worst_red}), mean {_pct(s['fa_red_mean'])}"
          f"   target <= 2 % in any week: {_verdict(s['fa_red_worst'] <= 0.02)}")  # type: ignore[operator]
    print("     by week (amber or red / red): " + "  ".join(f"{w}: {100 * a:.1f}/{100 * b:.1f}" for w, (a, b) in weekly.items()))
    allk = s["by_kind"]["all"]  # type: ignore[index]
    print(f"   precision: of the dyads on a weekly at-risk list, breaking {_pct(s['precision_lists'])}; of the dyads ever "
          f"warned, breaking {_pct(s['precision_dyads_any'])} (ever red: {_pct(s['precision_dyads_red'])})")
    print(f"   targets: recall >= 90 % ({_pct(allk['recall_any'])}: {_verdict((allk['recall_any'] or 0) >= 0.9)}), "
          f"median lead >= 7 days ({_days(allk['lead_any']).strip()}: {_verdict((allk['lead_any'] or 0) >= 7)})")
    return s


def mexico(seeds: range, policy: HealthPolicy) -> None:
    print(f"== the Mexico pilot replayed {len(seeds)} times: 14 dyads with the pilot's noise; one loses rapport after its "
          "third meeting, stops, and is dissolved 14-22 days later")
    red_in_time, first_when_red, first_at_end, leads, greens = 0, 0, 0, [], []
    for seed in seeds:
        c = cohort(seed, MEXICO)
        s = score(c, policy)
        m = s.mexico
        ranks = [(t, rank, status) for t, rank, status in m["ranks"] if t < m["dissolved"]]  # type: ignore[operator,union-attr]
        if m["first_red"] is not None:
            red_in_time += 1
            leads.append((m["dissolved"] - m["first_red"]).total_seconds() / 86400)  # type: ignore[operator]
            at_red = next(rank for t, rank, status in ranks if t >= m["first_red"])
            first_when_red += at_red == 1
        first_at_end += bool(ranks) and ranks[-1][1] == 1 and ranks[-1][2] == "red"
        greens.extend(m["others_green"])  # type: ignore[arg-type]
    n = len(seeds)
    print(f"   red before it was dissolved: {red_in_time}/{n}; first on the at-risk list the day it turned red: "
          f"{first_when_red}/{n}; red and first on the list the day before its dissolution: {first_at_end}/{n}")
    if leads:
        print(f"   red {statistics.median(leads):.1f} days before its dissolution (median; range {min(leads):.1f}-{max(leads):.1f})")
    share = sum(g for g, _ in greens) / sum(n for _, n in greens)
    worst = min(greens, key=lambda gn: gn[0] / gn[1])
    print(f"   the other 13 dyads at the weekly checkpoints: {share:.0%} green on average "
          f"(the worst checkpoint: {worst[0]} of {worst[1]} green)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.supervision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohorts", type=int, default=160, help="pilot cohorts of the main run (default 160)")
    parser.add_argument("--seed", type=int, default=1, help="the first seed of the main run")
    parser.add_argument("--checks", type=int, default=40, help="cohorts of each run not tuned on (default 40)")
    parser.add_argument("--mexico", type=int, default=20, help="Mexico replays (default 20)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--policy", type=json.loads, default={}, help="a policy as JSON (fields of HealthPolicy)")
    args = parser.parse_args()
    policy = HealthPolicy.from_dict(args.policy)
    print("bench/supervision: warnings before a breakdown, every dyad assessed every day as of that day with the real domain code")
    print(f"policy: {'the defaults' if not args.policy else json.dumps(args.policy)}; {os.cpu_count()} cores, {args.workers} workers")
    start = time.perf_counter()

    def timed(title: str, shape: ProgramShape, seeds: range) -> None:
        t = time.perf_counter()
        r = run(title, shape, seeds, policy, workers=args.workers)
        report(title, r, time.perf_counter() - t)

    base = args.seed * 100_000
    timed(f"pilot: cohorts of 15-40 dyads, 12 weekly meetings, half the forms 1-14 days late, 15 % breaking down (seeds "
          f"{base}-{base + args.cohorts - 1})", PILOT, range(base, base + args.cohorts))
    if args.checks:
        print("-- checks (not tuned on)")
        other = base + 50_000
        timed(f"pilot, other seeds ({other}-{other + args.checks - 1})", PILOT, range(other, other + args.checks))
        timed("peru: 40 dyads, mentors with two mentees, 5 meetings a month apart", PERU, range(base + 60_000, base + 60_000 + args.checks))
        timed("late: 70 % of the forms 1-14 days late", LATE70, range(base + 70_000, base + 70_000 + args.checks))
    if args.mexico:
        mexico(range(base + 80_000, base + 80_000 + args.mexico), policy)
    cpu = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
              for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"total: {time.perf_counter() - start:.0f} s wall, {cpu:.0f} s of CPU over {args.workers} workers "
          f"(other work on the machine stretches the wall time, not the CPU)")


if __name__ == "__main__":
    main()
