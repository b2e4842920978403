"""The six apps as real processes on loopback ports, as production runs them
(used by the cross-service tests in tests/ and by the benchmarks in bench/):
separate uvicorn processes, real HTTP between them, real databases (SQLite
files or PostgreSQL databases, per ALIADA_TEST_BACKEND), migrations applied
with each app's own `python -m <app> migrate`, tokens issued by the gateway and
verified by every service against the gateway's JWKS over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tools.dev_env import service_client_env

REPO = Path(__file__).resolve().parents[1]
# Upper bounds, not expectations: an app usually migrates and answers in a few
# seconds, but on a busy 2-core machine (two test halves side by side, other
# work) five apps have been seen to take minutes; a bound that trips there
# fails a test that has nothing wrong with it.
MIGRATE_SECONDS = 300.0
START_SECONDS = 240.0


@dataclass(frozen=True)
class App:
    name: str
    package: str
    prefix: str

    @property
    def factory(self) -> str:
        return f"{self.package}.main:create_app"


APPS = (
    App("gateway", "gateway", "GATEWAY"),
    App("participants", "services.participants", "PARTICIPANTS"),
    App("matching", "services.matching", "MATCHING"),
    App("sessions", "services.sessions", "SESSIONS"),
    App("evaluation", "services.evaluation", "EVALUATION"),
    App("notifications", "services.notifications", "NOTIFICATIONS"),
)
SERVICES = APPS[1:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc: subprocess.Popen, grace: float) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it has not ended within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def small_pools() -> dict[str, str]:
    """Environment for a stack that serves one test at a time: 16 worker threads
    per app, and 2 database connections kept open while idle (servicekit.settings
    ``db_pool``), so the suite's stacks and shards side by side stay well within
    PostgreSQL's default 100 connections. The overflow stays: background loops (feeds, job runners) take
    connections beside the request threads, and with 8 threads and 2 spare a
    request waited past the gateway's timeout. Production and the benchmarks
    keep the defaults."""
    return {setting: value for app in APPS
            for setting, value in ((f"{app.prefix}_THREADPOOL_SIZE", "16"), (f"{app.prefix}_DB_POOL_IDLE", "2"))}


@dataclass
class Stack:
    workdir: Path
    database_urls: dict[str, str]
    admin_email: str = "admin@aliada.test"
    admin_password: str = field(default_factory=lambda: "pw-" + os.urandom(12).hex())
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    # The services' own API clients (tools/dev_env.py), fresh secrets per stack.
    service_env: dict[str, str] = field(default_factory=service_client_env)
    # Where the notifications service sends mail: a test that reads it listens here (nothing does by default:
    # the deliveries wait and retry, as they would for a mail server that is down).
    smtp_port: int = field(default_factory=lambda: free_port())

    def url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.ports[app]}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    @property
    def clock_file(self) -> Path:
        """The platform's simulation clock (``servicekit.clock.set_simulated_now`` moves it)."""
        return self.workdir / "clock"

    def env_for(self, app: App) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        issuer = self.gateway
        env.update(
            {
                f"{app.prefix}_DATABASE_URL": self.database_urls[app.name],
                f"{app.prefix}_JWT_ISSUER": issuer,
                f"{app.prefix}_JWKS_URL": f"{issuer}/.well-known/jwks.json",
                # Revoked sessions: the gateway's session check (no Redis here; servicekit.revocation).
                f"{app.prefix}_REVOCATION_URL": f"{issuer}/v1/auth/session",
                f"{app.prefix}_LOG_LEVEL": "INFO",
            }
        )
        # Where every other service is (each app reads the ones it calls).
        for svc in SERVICES:
            if svc.name != app.name:
                env[f"{app.prefix}_{svc.prefix}_URL"] = self.url(svc.name)
        env[f"{app.prefix}_TOKEN_URL"] = f"{issuer}/v1/auth/token"
        if app.name == "sessions":
            # Calendar feeds ask the gateway whether their owner is still active; a 1 s reuse of each
            # answer lets the journeys see a suspension take effect without a long wait.
            env["SESSIONS_GATEWAY_URL"] = issuer
            env["SESSIONS_ACCOUNT_STATUS_CACHE_SECONDS"] = "1"
        if app.name == "notifications":
            env["NOTIFICATIONS_SMTP_PORT"] = str(self.smtp_port)
            env["NOTIFICATIONS_PUBLIC_BASE_URL"] = issuer
        if app.name == "gateway":
            env["GATEWAY_BOOTSTRAP_ADMIN_EMAIL"] = self.admin_email
            env["GATEWAY_BOOTSTRAP_ADMIN_PASSWORD"] = self.admin_password
        env.update(self.service_env)
        # One simulation clock for the whole platform (servicekit.clock): offset 0
        # (the real time) until a test moves it, which must put it back.
        env["ALIADA_CLOCK_FILE"] = str(self.clock_file)
        env.update(self.extra_env)
        return env

    def migrate(self, names: tuple[str, ...] | None = None) -> None:
        """Each app (of ``names``, else all) migrates its own database; all run side by side.
        A failure names the app and ends with its output."""
        running = [
            (app, subprocess.Popen([sys.executable, "-m", app.package, "migrate"], cwd=REPO, env=self.env_for(app),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
            for app in APPS if names is None or app.name in names
        ]  # fmt: skip
        failed = []
        for app, proc in running:
            try:
                out, _ = proc.communicate(timeout=MIGRATE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"{app.name} (exit {proc.returncode}):\n{out.decode(errors='replace')[-2000:]}")
        if failed:
            raise RuntimeError("migrations failed: " + "\n".join(failed))

    def start(self, timeout: float = START_SECONDS) -> None:
        for app in APPS:
            self.ports.setdefault(app.name, free_port())
        self.migrate()
        for app in APPS:
            self.start_app(app.name)
        self.wait_healthy(timeout)

    def start_app(self, name: str) -> None:
        app = next(a for a in APPS if a.name == name)
        log = open(self.workdir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "--factory", app.factory,
                "--host", "127.0.0.1", "--port", str(self.ports[name]), "--no-access-log", "--no-proxy-headers",
            ],
            cwd=REPO,
            env=self.env_for(app),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop_app(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            terminate(proc, grace=10)

    def wait_healthy(self, timeout: float = START_SECONDS, names: list[str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pending = set(names or self.procs)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
                try:
                    if httpx.get(f"{self.url(name)}/healthz", timeout=1).status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        if pending:
            raise RuntimeError(f"not healthy in {timeout}s: {sorted(pending)}\n" + "\n".join(self.log_tail(n) for n in pending))

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return f"--- {name} log ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_app(name)

    # -- conveniences for tests -------------------------------------------------
    def login(self, email: str, password: str) -> dict:
        r = httpx.post(
            f"{self.gateway}/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": password},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()

    def admin_token(self) -> str:
        return self.login(self.admin_email, self.admin_password)["access_token"]
