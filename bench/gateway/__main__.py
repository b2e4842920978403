"""bench/gateway: what the gateway hop costs, against a bare proxy in the same run.

Starts the gateway and the participants service as separate uvicorn processes
(one worker each, SQLite in a temporary directory) and, as the anchor, a bare
aiohttp proxy in front of the same service (``bench/gateway/bare_proxy.py``:
no authentication, no rate limit, no metrics). It creates an institution, then
loads ``GET /v1/institutions/{id}`` with wrk on loopback on the three paths
(direct, bare proxy, gateway) with the same admin token, interleaved per
concurrency so the machine's noise falls on all three alike:

- concurrency 1: p50 and p99, and the p50 each proxy adds to the direct call;
- concurrency 16: throughput, as a share of direct;
- concurrency 64: throughput, errors, timeouts, and each proxy's peak resident
  memory (sampled while the load runs).

Targets (issue 15): the gateway's added p50 at most 1.2x the bare proxy's,
throughput at c=16 at least 95 % of direct, peak memory at c=64 at most 2x the
bare proxy's. Every load is bounded (``--seconds`` per run) and targets
127.0.0.1 only. It prints figures; it asserts nothing.

    make bench-gateway            # or: python -m bench.gateway --seconds 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

import httpx
import psutil

from tools.stack import APPS, Stack, free_port

HERE = Path(__file__).resolve().parent


def wrk(url: str, token: str, connections: int, seconds: int) -> dict:
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        [
            "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
            "-s", str(HERE / "report.lua"), "-H", f"Authorization: Bearer {token}", url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def tree_rss(process: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


class PeakRss:
    """The peak resident memory of a process tree, sampled every 50 ms while in use."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, tree_rss(self.process))
            except psutil.Error:
                pass
            time.sleep(0.05)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8, help="duration of each wrk run (default 8)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (Debian/Ubuntu) or brew install wrk", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="aliada-bench-"))
    urls = {app.name: f"sqlite:///{workdir / (app.name + '.db')}" for app in APPS}
    stack = Stack(workdir=workdir, database_urls=urls, extra_env={
        # The benchmark measures the hop, not the per-token rate limit.
        "GATEWAY_RATE_LIMIT_PER_TOKEN": "1000000/minute",
        "PARTICIPANTS_LOG_LEVEL": "WARNING",
        "GATEWAY_LOG_LEVEL": "WARNING",
    })
    try:
        stack.start()
        token = stack.admin_token()
        r = httpx.post(
            f"{stack.gateway}/v1/institutions",
            json={"name": "Universidad de Referencia", "slug": "bench-u", "country": "MX", "timezone": "America/Mexico_City"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        r.raise_for_status()
        path = f"/v1/institutions/{r.json()['id']}"
        bare_port = free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "bench.gateway.bare_proxy", "--port", str(bare_port), "--upstream", stack.url("participants")],
            cwd=Path(__file__).resolve().parents[2],
        )
        targets = {"direct": stack.url("participants") + path, "bare": f"http://127.0.0.1:{bare_port}{path}",
                   "gateway": stack.gateway + path}
        pids = {"bare": bare.pid, "gateway": stack.procs["gateway"].pid}
        for name, url in targets.items():  # warm every path (pools, caches, JWKS)
            for _ in range(100):
                try:
                    if httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{name} never answered 200 on {url}")
            wrk(url, token, 4, 2)
        results: dict[tuple[str, int], dict] = {}
        rss: dict[str, int] = {}
        idle = {name: tree_rss(psutil.Process(pid)) for name, pid in pids.items()}  # warmed, before the loads
        for c in (1, 16, 64):
            for name, url in targets.items():
                if c == 64 and name in pids:
                    with PeakRss(pids[name]) as peak:
                        results[(name, c)] = wrk(url, token, c, args.seconds)
                    rss[name] = peak.peak
                else:
                    results[(name, c)] = wrk(url, token, c, args.seconds)
    finally:
        if "bare" in locals():
            bare.terminate()
            bare.wait(timeout=10)
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    def row(c: int, name: str) -> str:
        f = results[(name, c)]
        errors = f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["status_errors"]
        memory = f"   peak RSS {rss[name] / 2**20:>6.1f} MiB" if c == 64 and name in rss else ""
        return (f"  c={c:<3} {name:<8} {f['rps']:>9.0f} req/s   p50 {f['p50_us'] / 1000:>7.2f} ms   "
                f"p99 {f['p99_us'] / 1000:>7.2f} ms   errors {errors}   timeouts {f['timeouts']}{memory}")

    print(f"\nbench/gateway: GET {path} ({args.seconds}s per run, one uvicorn worker per app)\n")
    for c in (1, 16, 64):
        for name in targets:
            print(row(c, name))

    def added(name: str) -> float:
        return (results[(name, 1)]["p50_us"] - results[("direct", 1)]["p50_us"]) / 1000

    def kept(name: str, c: int) -> float:
        return results[(name, c)]["rps"] / results[("direct", c)]["rps"] * 100

    added_ratio = added("gateway") / added("bare") if added("bare") > 0 else float("inf")
    rss_ratio = rss["gateway"] / rss["bare"]
    stalled = any(results[(n, 64)]["timeouts"] or results[(n, 64)]["rps"] < 0.2 * results[(n, 16)]["rps"] for n in targets)
    print()
    print(f"  p50 added at c=1:            gateway {added('gateway'):5.2f} ms, bare proxy {added('bare'):5.2f} ms"
          f"   ratio {added_ratio:4.2f}x   (target <= 1.2x)")
    print(f"  throughput kept at c=16:     gateway {kept('gateway', 16):5.1f} %, bare proxy {kept('bare', 16):5.1f} %"
          f"   (target gateway >= 95 % of direct)")
    print(f"  throughput kept at c=64:     gateway {kept('gateway', 64):5.1f} %, bare proxy {kept('bare', 64):5.1f} %"
          f"   stall: {'YES' if stalled else 'no'}")
    print(f"  peak RSS at c=64:            gateway {rss['gateway'] / 2**20:5.1f} MiB, bare proxy {rss['bare'] / 2**20:5.1f} MiB"
          f"   ratio {rss_ratio:4.2f}x   (target <= 2x)")
    print(f"  of which the load's own:     gateway {(rss['gateway'] - idle['gateway']) / 2**20:5.1f} MiB, bare proxy "
          f"{(rss['bare'] - idle['bare']) / 2**20:5.1f} MiB   (peak minus the warmed process before the loads)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
