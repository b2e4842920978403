"""bench/evaluation: the program report of a pilot-sized program (30 people), then of a seeded
synthetic program of 10,000 participants.

Pilot (the Mexico pilot's shape: 16 mentors, 14 mentees): the whole HTML report (figures, charts,
page) and the A4 PDF, the way ``GET .../report.html`` and ``.../report.pdf`` make them; goal for the
HTML report <= 0.5 s (issue 10).

The report data (every figure, protected: distributions, pre/post change with
Wilcoxon p and bootstrapped rank-biserial CIs for 7 skills x 3 groups, objective
achievement, term frequencies, themes, suppression) is timed apart from the
charts and from the HTML page. In-process, no HTTP, no database. Generating the
program is not timed. It prints figures; it asserts nothing. Goal (issue 6):
report data < 2 s on this 2-core machine.

    python -m bench.evaluation                  # 10,000 participants
    python -m bench.evaluation --participants 30
"""

from __future__ import annotations

import argparse
import os
import statistics
from time import perf_counter

from services.evaluation.analytics import DisclosurePolicy, build_report, render_html, render_pdf, report_charts
from services.evaluation.analytics import report as report_module
from services.evaluation.analytics.page import clear_caches
from services.evaluation.tests.analytics_cohorts import mexico_pilot, synthetic_program

SEED = 20240601


def timed(fn, *args, **kwargs):
    start = perf_counter()
    out = fn(*args, **kwargs)
    return out, perf_counter() - start


def pilot(runs: int) -> None:
    inp = mexico_pilot()
    policy = DisclosurePolicy()
    build_report(inp, policy=policy)  # warm: imports, fonts, catalogs
    parts: dict[str, list[float]] = {"figures (build_report)": [], "charts (SVG)": [], "page (HTML)": [], "PDF (WeasyPrint)": []}
    totals, warm = [], []
    for _ in range(runs):
        clear_caches()  # a first drawing: nothing cached
        report, t1 = timed(build_report, inp, policy=policy)
        charts, t2 = timed(report_charts, report, lang="es", png=False)
        _, t3 = timed(render_html, report, charts, lang="es")
        _, t4 = timed(render_pdf, report, charts, lang="es")
        for key, t in zip(parts, (t1, t2, t3, t4), strict=True):
            parts[key].append(t)
        totals.append(t1 + t2 + t3)
        again, t5 = timed(build_report, inp, policy=policy)  # the same report asked again: charts from the cache
        _, t6 = timed(lambda r=again: render_html(r, report_charts(r, lang="es", png=False), lang="es"))
        warm.append(t5 + t6)
    print(f"pilot (16 mentors, 14 mentees), median of {runs} runs, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:")
    for key, ts in parts.items():
        print(f"  {key:<28} {statistics.median(ts):6.3f} s")
    print(f"  HTML report, first drawing   {statistics.median(totals):6.3f} s   (goal <= 0.5 s)")
    print(f"  HTML report, asked again     {statistics.median(warm):6.3f} s   (goal <= 0.5 s; charts drawn once per report)")
    print(f"  PDF report, end to end       {statistics.median(totals) + statistics.median(parts['PDF (WeasyPrint)']):6.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluation")
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pilot-only", action="store_true", help="only the pilot-sized report")
    args = parser.parse_args()
    pilot(args.runs)
    if args.pilot_only:
        return
    n = args.participants
    mentors = n * 2 // 5
    inp, gen = timed(synthetic_program, mentors, n - mentors, SEED)
    responses = sum(len(a.responses) for a in (inp.skills_pre, inp.skills_post, inp.closing) if a)
    print(f"program: {n:,} participants ({mentors:,} mentors, {n - mentors:,} mentees), {len(inp.dyads):,} dyads, "
          f"{responses:,} responses (pre, post, closing), {len(inp.codings):,} theme codings; generated in {gen:.2f} s (not timed)")
    print(f"machine: {os.cpu_count()} cores")

    policy = DisclosurePolicy()
    times = []
    for _ in range(args.runs):
        report, t = timed(build_report, inp, policy=policy, seed=SEED)
        times.append(t)
    print(f"report data (build_report): median {statistics.median(times):.3f} s, min {min(times):.3f} s "
          f"over {args.runs} runs   (goal < 2 s)")
    parts = {
        "skills pre/post (7 skills x 3 groups, 2,000 resamples each)": lambda: report_module._skills(inp, policy, SEED, 2000),
        "satisfaction (distributions, suppression, subscales)": lambda: report_module._satisfaction(inp, policy),
        "objectives measured vs perceived": lambda: report_module._objectives(inp, policy, SEED, 2000),
        "word clouds (term frequencies)": lambda: report_module._clouds(inp, policy),
        "themes": lambda: report_module._themes(inp, policy),
        "funnel, adherence, retention": lambda: (report_module._funnel(inp.funnel), report_module._adherence(inp),
                                                 report_module._retention(inp, policy)),
    }
    for name, fn in parts.items():
        _, t = timed(fn)
        print(f"  {name:<62} {t * 1000:8.1f} ms")

    charts, t_svg = timed(report_charts, report, lang="es", png=False)
    print(f"charts, SVG only ({len(charts)} charts): {t_svg:.2f} s")
    charts_png, t_both = timed(report_charts, report, lang="es", png=True)
    print(f"charts, SVG and PNG: {t_both:.2f} s")
    page, t_html = timed(render_html, report, charts, lang="es")
    print(f"HTML page (charts given): {t_html * 1000:.1f} ms, {len(page) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
