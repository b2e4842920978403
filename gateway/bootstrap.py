"""The bootstrap admin: created on a start that finds no admin at all.

Her email is ``GATEWAY_BOOTSTRAP_ADMIN_EMAIL`` (default admin@aliada.local);
her password is ``GATEWAY_BOOTSTRAP_ADMIN_PASSWORD`` when set, otherwise a
random one printed once to stderr inside a banner (never through the logger,
so it reaches the operator's terminal but no log pipeline). There is no fixed
default password. Replicas starting together are safe: the unique email makes
all but one insert fail, and the losers print nothing.
"""

from __future__ import annotations

import logging
import sys

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.config import Settings
from gateway.models import Account
from gateway.security import Passwords, new_password
from gateway.service import admin_exists

log = logging.getLogger("gateway.bootstrap")


def _banner(email: str, password: str) -> str:
    lines = [
        "Aliada gateway: bootstrap admin created (this is shown once).",
        f"  email:    {email}",
        f"  password: {password}",
        "Log in and change it: PATCH /v1/admin/accounts/{id} with a new password,",
        "or set GATEWAY_BOOTSTRAP_ADMIN_PASSWORD before the first start.",
    ]
    width = max(len(line) for line in lines) + 4
    rule = "*" * width
    return "\n".join([rule, *(f"* {line.ljust(width - 4)} *" for line in lines), rule])


def ensure_bootstrap_admin(engine: Engine, settings: Settings, passwords: Passwords) -> bool:
    """Create the bootstrap admin if no admin exists. True when created here."""
    with Session(engine) as session:
        if admin_exists(session):
            return False
    email = settings.bootstrap_admin_email.strip().lower()
    given = settings.bootstrap_admin_password.get_secret_value() if settings.bootstrap_admin_password else ""
    password = given or new_password()
    account = Account(email=email, password_hash=passwords.hash(password), roles=["admin"], is_admin=True)
    with Session(engine) as session:
        session.add(account)
        try:
            session.commit()
            lost_race = False
        except IntegrityError:  # another replica created her first
            session.rollback()
            lost_race = True
    if lost_race:
        with Session(engine) as check:
            if not admin_exists(check):
                log.error("bootstrap admin not created: the email belongs to an account that is not an admin",
                          extra={"email": email})
        return False
    log.info("bootstrap admin created", extra={"email": email, "password_from_env": bool(given)})
    if not given:
        print(_banner(email, password), file=sys.stderr, flush=True)
    return True
