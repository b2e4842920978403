"""servicekit.tenancy: the one tenancy filter and the one coordinator rule, on principals from verified tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Field, Session, SQLModel, select

from servicekit.auth import Principal, StaticKeySource, TokenVerifier
from servicekit.db import make_engine, new_registry
from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER, Mint
from servicekit.tenancy import client_with, coordinates, scoped, tenant_of

A = uuid.UUID("0190f1c2-0000-7000-8000-00000000000a")
B = uuid.UUID("0190f1c2-0000-7000-8000-00000000000b")
REPORTS = "reports:read"


class TenancyBase(SQLModel, registry=new_registry()):
    pass


class Record(TenancyBase, table=True):
    __tablename__ = "tenancy_records"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)


@pytest.fixture
def who(mint: Mint, key_source: StaticKeySource) -> Any:
    """``who(**claims)``: the Principal of a minted token, through the verifier every app uses."""
    verifier = TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, keys=key_source)

    def principal(**claims: Any) -> Principal:
        token = mint(**claims)
        return Principal.from_claims(asyncio.run(verifier.verify(token)), token)

    return principal


@pytest.fixture
def session(database_factory: Any) -> Iterator[Session]:
    engine = make_engine(database_factory.new("tenancy"))
    TenancyBase.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Record(institution_id=A), Record(institution_id=A), Record(institution_id=B)])
        s.commit()
    with Session(engine) as s:
        yield s
    engine.dispose()


def _seen(session: Session, principal: Principal, **kw: Any) -> list[uuid.UUID]:
    rows = session.exec(scoped(select(Record), Record, principal, **kw)).all()
    return sorted(r.institution_id for r in rows)


# Who the token says she is -> (coordinates A, coordinates B, the institutions of the rows `scoped` lets her see).
CASES: dict[str, tuple[dict[str, Any], bool, bool, list[uuid.UUID]]] = {
    "admin": ({"sub": "admin-1", "roles": ["admin"]}, True, True, [A, A, B]),
    "coordinator of A": ({"sub": "c-1", "tid": str(A), "roles": ["coordinator"]}, True, False, [A, A]),
    "coordinator of A, upper-case tid": ({"sub": "c-2", "tid": str(A).upper(), "roles": ["coordinator"]}, True, False, [A, A]),
    "coordinator without tid": ({"sub": "c-3", "roles": ["coordinator"]}, False, False, []),
    "coordinator, malformed tid": ({"sub": "c-4", "tid": "not-a-uuid", "roles": ["coordinator"]}, False, False, []),
    "mentee of A": ({"sub": "m-1", "tid": str(A), "roles": ["mentee"]}, False, False, [A, A]),
    "evaluator of B": ({"sub": "e-1", "tid": str(B), "roles": ["evaluator"]}, False, False, [B]),
    "client of A": ({"sub": "cl-1", "tid": str(A), "scope": REPORTS, "client_id": "cl-1"}, False, False, [A, A]),
    "client of A with a coordinator role": (
        {"sub": "cl-2", "tid": str(A), "roles": ["coordinator"], "client_id": "cl-2"}, False, False, [A, A]),
    "platform client": ({"sub": "cl-3", "scope": "institutions:read", "client_id": "cl-3"}, False, False, []),
    "service token (platform client, reports:read)": (
        {"sub": "evaluation", "scope": REPORTS, "client_id": "evaluation"}, False, False, []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_coordinator_rule(who: Any, case: str) -> None:
    claims, on_a, on_b, _ = CASES[case]
    principal = who(**claims)
    assert coordinates(principal, A) is on_a
    assert coordinates(principal, str(A)) is on_a  # the gateway passes ids as strings
    assert coordinates(principal, B) is on_b
    assert coordinates(principal, None) is principal.is_admin


@pytest.mark.parametrize("case", list(CASES))
def test_tenancy_filter(who: Any, session: Session, case: str) -> None:
    claims, _, _, seen = CASES[case]
    assert _seen(session, who(**claims)) == seen


def test_tenant_of_is_the_well_formed_tid_or_none(who: Any) -> None:
    assert tenant_of(who(tid=str(A))) == A
    assert tenant_of(who(tid=str(A).upper())) == A
    assert tenant_of(who(tid="not-a-uuid")) is None
    assert tenant_of(who()) is None


def test_a_platform_client_sees_every_institution_only_where_the_caller_names_a_scope_it_holds(who: Any, session: Session) -> None:
    service = who(sub="evaluation", scope=REPORTS, client_id="evaluation")
    assert _seen(session, service, client_scopes=(REPORTS,)) == [A, A, B]
    assert _seen(session, service, client_scopes=("training:write",)) == []
    other = who(sub="cl-3", scope="institutions:read", client_id="cl-3")
    assert _seen(session, other, client_scopes=(REPORTS,)) == []
    # A client with a tid stays in its institution whatever the scopes.
    tenant_client = who(sub="cl-1", tid=str(A), scope=REPORTS, client_id="cl-1")
    assert _seen(session, tenant_client, client_scopes=(REPORTS,)) == [A, A]
    # A person holding a scope string is no client: her institution only.
    person = who(sub="m-1", tid=str(A), roles=["mentee"], scope=REPORTS)
    assert _seen(session, person, client_scopes=(REPORTS,)) == [A, A]


def test_client_with(who: Any) -> None:
    service = who(sub="evaluation", scope=REPORTS, client_id="evaluation")
    assert client_with(service, REPORTS, A) and client_with(service, REPORTS, B)
    assert not client_with(service, "training:write", A)
    tenant_client = who(sub="cl-1", tid=str(A), scope=REPORTS, client_id="cl-1")
    assert client_with(tenant_client, REPORTS, A) and not client_with(tenant_client, REPORTS, B)
    malformed = who(sub="cl-4", tid="not-a-uuid", scope=REPORTS, client_id="cl-4")
    assert not client_with(malformed, REPORTS, A)
    person = who(sub="c-1", tid=str(A), roles=["coordinator"], scope=REPORTS)
    assert not client_with(person, REPORTS, A)
