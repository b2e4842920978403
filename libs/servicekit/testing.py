"""pytest fixtures shared by every test package (loaded with ``-p servicekit.testing``).

Databases. ``ALIADA_TEST_BACKEND`` chooses ``sqlite`` (default) or
``postgresql``. For PostgreSQL the server is, in order: ``TEST_DATABASE_URL``;
else 127.0.0.1:5432 (user postgres, trust auth); else a throwaway cluster
started from the local PostgreSQL binaries with pytest-postgresql. If none of
these works the run stops with an error saying how to install PostgreSQL: a
PostgreSQL run never skips. ``database_factory.new`` makes an empty database;
``database_factory.migrated`` one at an app's head, copied from a template
migrated once per run.

Tokens. ``signing_key`` is an RSA key made for the session; ``mint`` signs
access tokens exactly as the gateway does; ``key_source`` gives apps under test
the matching public key, so the real verification path runs.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from servicekit.auth import StaticKeySource
from servicekit.tokens import SigningKey, access_claims

TEST_ISSUER = "http://127.0.0.1:8000"
TEST_AUDIENCE = "aliada"

INSTALL_HINT = (
    "PostgreSQL is required for the PostgreSQL half of the suite and none could be reached or started.\n"
    "  - point TEST_DATABASE_URL at a server (postgresql://user@host:port/db), or\n"
    "  - start the local one: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or\n"
    "  - install the binaries: apt-get install postgresql (Debian/Ubuntu), brew install postgresql (macOS),\n"
    "    then run the tests as a non-root user so a throwaway cluster can be initialised."
)


def backend() -> str:
    value = os.environ.get("ALIADA_TEST_BACKEND", "sqlite").lower()
    if value not in {"sqlite", "postgresql"}:
        raise pytest.UsageError("ALIADA_TEST_BACKEND must be sqlite or postgresql")
    return value


ALONGSIDE = "ALIADA_POSTGRESQL_RUN_ALONGSIDE"
DATABASE_TESTS_ONLY = "ALIADA_DATABASE_TESTS_ONLY"
DATABASE_FIXTURES = {"database_factory", "postgres_server_url"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the SQLite and PostgreSQL halves side by side (scripts/run-tests).

    - ALIADA_POSTGRESQL_RUN_ALONGSIDE=1 (the SQLite half): tests that use the
      PostgreSQL server whatever the backend (the outbox race tests, the deploy
      migrations) run in the PostgreSQL half only: one run's open transactions
      would hold back the other's event feeds, which stop before any transaction
      still running on the server (pg_snapshot_xmin is server-wide). For the
      same reason the PostgreSQL half is one process.
    - ALIADA_DATABASE_TESTS_ONLY=1 (the PostgreSQL half): a test that touches no
      database (none of DATABASE_FIXTURES, directly or through its fixtures:
      the pure cores, the documents, the deploy files) gives the same answer on
      either backend, and runs once, in the SQLite half."""
    if backend() == "sqlite" and os.environ.get(ALONGSIDE) == "1":
        _deselect(config, items, lambda names: "postgres_server_url" in names)
    if backend() == "postgresql" and os.environ.get(DATABASE_TESTS_ONLY) == "1":
        _deselect(config, items, lambda names: not DATABASE_FIXTURES & names)


def _deselect(config: pytest.Config, items: list[pytest.Item], leave: Callable[[set[str]], bool]) -> None:
    moved = [item for item in items if leave(set(getattr(item, "fixturenames", ())))]
    if moved:
        config.hook.pytest_deselected(items=moved)
        items[:] = [item for item in items if item not in moved]


def _can_connect(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_throwaway_cluster(tmp: Path) -> tuple[str, Any]:
    from pytest_postgresql.executors.proc import PostgreSQLExecutor

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) + [shutil.which("pg_ctl") or ""]
    pg_ctl = next((c for c in reversed(candidates) if c and os.path.exists(c)), None)
    if pg_ctl is None:
        pytest.exit("No PostgreSQL server answered and no pg_ctl binary was found.\n" + INSTALL_HINT, returncode=3)
    port = _free_port()
    executor = PostgreSQLExecutor(
        executable=pg_ctl,
        host="127.0.0.1",
        port=port,
        datadir=str(tmp / "data"),
        unixsocketdir=str(tmp),
        logfile=str(tmp / "postgresql.log"),
        startparams="-w",
        dbname="postgres",
        user="postgres",
    )
    try:
        executor.start()
    except Exception as exc:  # initdb refuses root, binaries broken, ...
        pytest.exit(f"Could not start a throwaway PostgreSQL with {pg_ctl}: {exc}\n" + INSTALL_HINT, returncode=3)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", executor


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A maintenance URL of a reachable PostgreSQL server (see module doc)."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        error = _can_connect(explicit)
        if error:
            pytest.exit(f"TEST_DATABASE_URL does not answer: {error}\n" + INSTALL_HINT, returncode=3)
        yield explicit
        return
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _can_connect(local) is None:
        yield local
        return
    url, executor = _start_throwaway_cluster(tmp_path_factory.mktemp("pg"))
    try:
        yield url
    finally:
        executor.stop()


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


class DatabaseFactory:
    """Creates databases for the chosen backend and drops them at the end."""

    def __init__(self, kind: str, tmp: Path, server_url: str | None) -> None:
        self.kind = kind
        self.tmp = tmp
        self.server_url = server_url
        self.created: list[str] = []
        self.templates: dict[Callable[[str], None], str] = {}

    def new(self, name: str, template: str | None = None) -> str:
        """An empty database, or a copy of the database ``template`` (a URL this factory made)."""
        suffix = uuid.uuid4().hex[:10]
        if self.kind == "sqlite":
            url = f"sqlite:///{self.tmp / f'{name}-{suffix}.db'}"
            if template is not None:
                with closing(sqlite3.connect(urlsplit(template).path[1:])) as source, \
                        closing(sqlite3.connect(urlsplit(url).path[1:])) as copy:
                    source.backup(copy)
            return url
        assert self.server_url is not None
        dbname = f"aliada_test_{name}_{suffix}"
        copied = f' TEMPLATE "{urlsplit(template).path[1:]}"' if template is not None else ""
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"{copied}')
        self.created.append(dbname)
        return _with_db(self.server_url, dbname)

    def migrated(self, name: str, migrate: Callable[[str], None]) -> str:
        """A new database as ``migrate`` leaves an empty one. ``migrate`` runs once,
        on a template that the later databases copy (the migrations themselves are
        tested from an empty database by each app's test_migrations.py)."""
        if migrate not in self.templates:
            template = self.new(f"{name}_template")
            migrate(template)
            self.templates[migrate] = template
        return self.new(name, template=self.templates[migrate])

    def drop_all(self) -> None:
        if self.kind != "postgresql" or not self.server_url:
            return
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            for dbname in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_factory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    kind = backend()
    server = request.getfixturevalue("postgres_server_url") if kind == "postgresql" else None
    factory = DatabaseFactory(kind, tmp_path_factory.mktemp("db"), server)
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate(kid="test-key-1")


@pytest.fixture(scope="session")
def jwks(signing_key: SigningKey) -> dict[str, Any]:
    return {"keys": [signing_key.public_jwk]}


@pytest.fixture(scope="session")
def key_source(jwks: dict[str, Any]) -> StaticKeySource:
    return StaticKeySource(jwks)


Mint = Callable[..., str]


@pytest.fixture(scope="session")
def mint(signing_key: SigningKey) -> Mint:
    """``mint(sub=..., tid=..., roles=[...], scope="...", **claims)`` → a token."""

    def _mint(
        sub: str = "user-1",
        tid: str | None = None,
        roles: list[str] | None = None,
        scope: str = "",
        ttl: int = 900,
        **extra: Any,
    ) -> str:
        claims = access_claims(
            issuer=TEST_ISSUER,
            audience=TEST_AUDIENCE,
            subject=sub,
            tenant_id=tid,
            roles=roles or [],
            scope=scope,
            ttl_seconds=ttl,
        )
        claims.update(extra)
        return signing_key.sign(claims)

    return _mint


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="aliada-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> tuple[str, str]:
    import json

    signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
    return signing_input, signing_input + "." + _b64url(signature)


def _hs256(signing_input: str, secret: bytes) -> bytes:
    import hashlib
    import hmac

    return hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()


def attack_tokens(signing_key: SigningKey, *, issuer: str = TEST_ISSUER, audience: str = TEST_AUDIENCE) -> dict[str, str]:
    """Tokens every app must refuse with 401. Each one differs from a valid
    admin token in exactly one way, so a refusal proves that check."""
    import time

    from cryptography.hazmat.primitives import serialization

    now = int(time.time())

    def claims(**over: Any) -> dict[str, Any]:
        c = access_claims(issuer=issuer, audience=audience, subject="attacker", tenant_id=None, roles=["admin"], scope="events:read")
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    header = {"alg": "RS256", "typ": "at+jwt", "kid": signing_key.kid}
    tokens: dict[str, str] = {}

    _, tokens["alg_none"] = _compact({**header, "alg": "none"}, claims())
    pem = signing_key.public_pem.encode()
    der = serialization.load_pem_public_key(pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for name, secret in (("hs256_public_pem", pem), ("hs256_public_der", der)):
        signing_input, _ = _compact({**header, "alg": "HS256"}, claims())
        tokens[name] = signing_input + "." + _b64url(_hs256(signing_input, secret))
    tokens["expired"] = signing_key.sign(claims(iat=now - 3600, exp=now - 1800))
    tokens["not_yet_valid"] = signing_key.sign(claims(iat=now + 3600, nbf=now + 3600, exp=now + 7200))
    tokens["wrong_audience"] = signing_key.sign(claims(aud="another-api"))
    tokens["wrong_issuer"] = signing_key.sign(claims(iss="https://evil.example"))
    other = SigningKey.generate(kid="unknown-kid")
    tokens["unknown_kid"] = other.sign(claims())
    impostor = SigningKey.generate(kid=signing_key.kid)
    tokens["foreign_key_same_kid"] = impostor.sign(claims())
    valid = signing_key.sign(claims(roles=["mentee"]))
    h, _p, s = valid.split(".")
    _, tampered = _compact(header, claims(roles=["admin"]))
    tokens["tampered_payload"] = h + "." + tampered.split(".")[1] + "." + s
    tokens["missing_exp"] = signing_key.sign(claims(exp=None))
    tokens["oversized"] = signing_key.sign(claims(padding="x" * 9000))
    tokens["wrong_typ"] = signing_key.sign(claims(), headers={"typ": "JWT"})
    tokens["jwe_shaped"] = "a.b.c.d.e"
    return tokens


# -- migrations: the checks every app's test_migrations.py makes ---------------------------------------------------


def assert_head_matches_models(engine: Any, metadata: Any) -> None:
    """The migrated database is the schema the models describe (types compared too)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def assert_down_and_up_again(url: str, service_dir: Path, migrate: Callable[[str], None], metadata: Any) -> None:
    """Migrated, downgraded to base (only alembic_version left) and migrated again (every model table back)."""
    from alembic import command
    from sqlalchemy import inspect

    from servicekit.db import make_engine
    from servicekit.migrations import alembic_config

    migrate(url)
    command.downgrade(alembic_config(service_dir, url), "base")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        engine.dispose()
        migrate(url)
        assert set(inspect(engine).get_table_names()) == {"alembic_version", *metadata.tables}
    finally:
        engine.dispose()


def assert_one_head(service_dir: Path) -> None:
    from alembic.script import ScriptDirectory

    from servicekit.migrations import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config(service_dir, "sqlite://")).get_heads()) == 1
