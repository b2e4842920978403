"""The bootstrap admin: random password printed once, or the one from the
environment; created once; safe when replicas race."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from servicekit.db import make_engine

from gateway import bootstrap
from gateway.config import Settings
from gateway.db import migrate
from gateway.models import Account
from gateway.security import Passwords
from gateway.tests.conftest import ADMIN_EMAIL

TOKEN = "/v1/auth/token"
BANNER_PASSWORD = re.compile(r"password: (\S+)")


def admins(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(Account).where(col(Account.is_admin).is_(True))).one()
    finally:
        engine.dispose()


def test_first_start_prints_a_random_password_once(make_gateway, capsys: pytest.CaptureFixture[str]) -> None:
    passwords = []
    for _ in range(2):  # two fresh installations
        gw = make_gateway(bootstrap_admin_password=None)
        err = capsys.readouterr().err
        assert ADMIN_EMAIL in err and "shown once" in err
        (password,) = BANNER_PASSWORD.findall(err)
        assert len(password) >= 20
        login = gw.client.post(TOKEN, data={"grant_type": "password", "username": ADMIN_EMAIL, "password": password})
        assert login.status_code == 200
        passwords.append(password)
    assert passwords[0] != passwords[1]

    # A restart (or another replica) on the same database creates nothing and prints nothing.
    make_gateway(database_url=gw.settings.database_url, bootstrap_admin_password=None)
    assert "password" not in capsys.readouterr().err
    assert admins(gw.settings.database_url) == 1


def test_password_from_the_environment_is_used_and_not_printed(make_gateway, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GATEWAY_BOOTSTRAP_ADMIN_PASSWORD", "from-the-environment-1")
    monkeypatch.setenv("GATEWAY_BOOTSTRAP_ADMIN_EMAIL", "Root@Uni.Example")
    settings = Settings()
    gw = make_gateway(bootstrap_admin_password=settings.bootstrap_admin_password, bootstrap_admin_email=settings.bootstrap_admin_email)
    assert "from-the-environment-1" not in capsys.readouterr().err
    login = gw.client.post(TOKEN, data={"grant_type": "password", "username": "root@uni.example", "password": "from-the-environment-1"})
    assert login.status_code == 200
    assert gw.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}).json()["roles"] == ["admin"]


def test_replicas_racing_create_one_admin(database_factory, monkeypatch, capsys) -> None:
    url = database_factory.migrated("gateway", migrate)
    engine = make_engine(url)
    settings = Settings(database_url=url, bootstrap_admin_password=None)
    passwords = Passwords(time_cost=1, memory_kib=256, parallelism=1)
    assert bootstrap.ensure_bootstrap_admin(engine, settings, passwords) is True
    capsys.readouterr()
    # A replica that checked before the first one committed: its insert loses.
    real = bootstrap.admin_exists
    stale = [False]  # its first check ran before the other replica committed
    monkeypatch.setattr(bootstrap, "admin_exists", lambda session: stale.pop() if stale else real(session))
    assert bootstrap.ensure_bootstrap_admin(engine, settings, passwords) is False
    assert "password" not in capsys.readouterr().err
    engine.dispose()
    assert admins(url) == 1
