"""bench/gateway: what the gateway hop costs on a DB-backed GET by id.

Starts the gateway and the participants service as separate uvicorn processes
(one worker each, SQLite in a temporary directory), creates an institution,
then loads ``GET /v1/institutions/{id}`` with wrk on loopback, first directly
on the service and then through the gateway, with the same admin token:

- concurrency 1: p50 and p99 latency, and the p50 the gateway adds;
- concurrency 16: throughput, and the share of direct throughput kept;
- concurrency 64: throughput, errors and timeouts (a stall shows as timeouts
  or a collapse of requests/s).

Every load is bounded (``--seconds`` per run) and targets 127.0.0.1 only. It
prints figures; it asserts nothing. Goals (issue 2): p50 added <= 0.5 ms at
c=1, >= 85 % of direct throughput at c=16, no stall at c=64.

    make bench-gateway            # or: python -m bench.gateway --seconds 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tools.stack import APPS, Stack

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
        targets = {"direct": stack.url("participants") + path, "gateway": stack.gateway + path}
        for url in targets.values():  # warm both paths (pools, caches, JWKS)
            assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
            wrk(url, token, 4, 2)
        results = {(name, c): wrk(url, token, c, args.seconds) for c in (1, 16, 64) for name, url in targets.items()}
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    def row(c: int, name: str) -> str:
        f = results[(name, c)]
        errors = f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["status_errors"]
        return (f"  c={c:<3} {name:<8} {f['rps']:>9.0f} req/s   p50 {f['p50_us'] / 1000:>7.2f} ms   "
                f"p99 {f['p99_us'] / 1000:>7.2f} ms   errors {errors}   timeouts {f['timeouts']}")

    print(f"\nbench/gateway: GET {path} ({args.seconds}s per run, one uvicorn worker per app)\n")
    for c in (1, 16, 64):
        for name in ("direct", "gateway"):
            print(row(c, name))
    added = (results[("gateway", 1)]["p50_us"] - results[("direct", 1)]["p50_us"]) / 1000
    kept16 = results[("gateway", 16)]["rps"] / results[("direct", 16)]["rps"] * 100
    kept64 = results[("gateway", 64)]["rps"] / results[("direct", 64)]["rps"] * 100
    stalled = any(results[(n, 64)]["timeouts"] or results[(n, 64)]["rps"] < 0.2 * results[(n, 16)]["rps"] for n in targets)
    print()
    print(f"  p50 added by the gateway at c=1:       {added:6.2f} ms   (goal <= 0.5 ms)")
    print(f"  throughput through the gateway, c=16:  {kept16:6.1f} %    (goal >= 85 % of direct)")
    print(f"  throughput through the gateway, c=64:  {kept64:6.1f} %    stall: {'YES' if stalled else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
