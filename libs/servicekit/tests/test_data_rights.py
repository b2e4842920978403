"""servicekit.data_rights: the internal export/erasure endpoints and the coverage check."""

import sys
import types
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Table, Column, Integer, delete
from sqlmodel import Session, select

from servicekit import data_rights
from servicekit.app import create_service_app
from servicekit.settings import BaseServiceSettings
from servicekit.testing import bearer

from .conftest import KitBase, Widget

INSTITUTION = uuid.uuid4()


def _module(fail_after_erasing: bool = False) -> types.ModuleType:
    module = types.ModuleType("kitsvc.data_rights")
    module.PERSONAL = {"widgets": "a widget named after her account"}
    module.NOT_PERSONAL = {"outbox_events": "widget names only", "idempotency_records": "test"}
    module.calls = []

    def export_subject(session, institution_id, account_id, participant_ids):
        module.calls.append(("export", institution_id, account_id, list(participant_ids)))
        rows = session.exec(select(Widget).where(Widget.name == account_id)).all()
        return {"widgets": [{"id": r.id, "name": r.name} for r in rows]}

    def erase_subject(session, institution_id, account_id, participant_ids):
        module.calls.append(("erase", institution_id, account_id, list(participant_ids)))
        result = session.execute(delete(Widget).where(Widget.name == account_id))
        if fail_after_erasing:
            raise RuntimeError("handler broke after deleting")
        return {"widgets": result.rowcount or 0}

    def resolve_participants(session, institution_id, account_id):
        return [uuid.UUID(int=7)]

    module.export_subject, module.erase_subject, module.resolve_participants = export_subject, erase_subject, resolve_participants
    return module


def _client(kit_url, key_source, module) -> TestClient:
    settings = BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="WARNING")
    app = create_service_app(
        settings=settings, title="kit", description="t", routers=[data_rights.router(module, service="kit")], key_source=key_source
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture()
def gateway_token(mint):
    return mint(sub=data_rights.GATEWAY_SUBJECT, scope=data_rights.DATA_RIGHTS_SCOPE, client_id="gateway")


def _seed(client, *names):
    with Session(client.app.state.engine) as session:
        for name in names:
            session.add(Widget(name=name))
        session.commit()


def _names(client):
    with Session(client.app.state.engine) as session:
        return sorted(w.name for w in session.exec(select(Widget)).all())


def test_export_and_erasure_call_the_handlers(kit_url, key_source, gateway_token):
    module = _module()
    pid = uuid.uuid4()
    body = {"institution_id": str(INSTITUTION), "account_id": "acc-1", "participant_ids": [str(pid)]}
    with _client(kit_url, key_source, module) as client:
        _seed(client, "acc-1", "acc-2")
        resp = client.post(data_rights.EXPORT_PATH, json=body, headers=bearer(gateway_token))
        assert resp.status_code == 200, resp.text
        assert resp.json()["service"] == "kit"
        assert [r["name"] for r in resp.json()["tables"]["widgets"]] == ["acc-1"]
        assert module.calls[0] == ("export", INSTITUTION, "acc-1", [pid])

        resp = client.post(data_rights.ERASURE_PATH, json=body, headers=bearer(gateway_token))
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"service": "kit", "tables": {"widgets": 1}}
        assert _names(client) == ["acc-2"]
        # Idempotent: again, nothing left to erase.
        resp = client.post(data_rights.ERASURE_PATH, json=body, headers=bearer(gateway_token))
        assert resp.json()["tables"] == {"widgets": 0}

        resp = client.post(data_rights.RESOLVE_PATH, json={"institution_id": str(INSTITUTION), "account_id": "acc-1"}, headers=bearer(gateway_token))
        assert resp.json() == {"participant_ids": [str(uuid.UUID(int=7))]}


def test_a_failing_handler_commits_nothing(kit_url, key_source, gateway_token):
    module = _module(fail_after_erasing=True)
    body = {"institution_id": str(INSTITUTION), "account_id": "acc-1"}
    with _client(kit_url, key_source, module) as client:
        _seed(client, "acc-1")
        resp = client.post(data_rights.ERASURE_PATH, json=body, headers=bearer(gateway_token))
        assert resp.status_code == 500
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert _names(client) == ["acc-1"]


@pytest.mark.parametrize(
    "claims",
    [
        dict(sub="service:gateway", scope="events:read", client_id="gateway"),  # wrong scope
        dict(sub="cli_abc", scope="data-subjects:internal", client_id="cli_abc"),  # a client given the scope
        dict(sub="service:gateway", scope="data-subjects:internal"),  # not a client token
        dict(sub="service:gateway", scope="data-subjects:internal", client_id="gateway", tid=str(INSTITUTION)),
        dict(sub="admin-1", roles=["admin"]),  # an admin person
    ],
)
def test_only_the_gateway_may_call(kit_url, key_source, mint, claims):
    module = _module()
    with _client(kit_url, key_source, module) as client:
        _seed(client, "acc-1")
        body = {"institution_id": str(INSTITUTION), "account_id": "acc-1"}
        for path in (data_rights.EXPORT_PATH, data_rights.ERASURE_PATH, data_rights.RESOLVE_PATH):
            resp = client.post(path, json=body, headers=bearer(mint(**claims)))
            assert resp.status_code == 403, (path, resp.text)
        assert module.calls == []
        assert _names(client) == ["acc-1"]


def test_tokens_refused(kit_url, key_source, mint, signing_key):
    from servicekit.testing import attack_tokens

    module = _module()
    body = {"institution_id": str(INSTITUTION), "account_id": "acc-1"}
    with _client(kit_url, key_source, module) as client:
        assert client.post(data_rights.ERASURE_PATH, json=body).status_code == 401
        expired = mint(sub="service:gateway", scope="data-subjects:internal", client_id="gateway", ttl=-120)
        assert client.post(data_rights.ERASURE_PATH, json=body, headers=bearer(expired)).status_code == 401
        for name, token in attack_tokens(signing_key).items():
            resp = client.post(data_rights.ERASURE_PATH, json=body, headers=bearer(token))
            assert resp.status_code == 401, name
        assert module.calls == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"institution_id": "nope", "account_id": "a"}, "institution_id"),
        ({"institution_id": str(INSTITUTION), "account_id": "a b"}, "account_id"),
        ({"institution_id": str(INSTITUTION), "account_id": "a", "participant_ids": ["x"]}, "participant_ids"),
        ({"institution_id": str(INSTITUTION), "account_id": "a", "extra": 1}, "extra"),
    ],
)
def test_bad_input_names_the_field(kit_url, key_source, gateway_token, body, field):
    with _client(kit_url, key_source, _module()) as client:
        resp = client.post(data_rights.EXPORT_PATH, json=body, headers=bearer(gateway_token))
        assert resp.status_code == 422
        assert field in resp.text


def test_router_refuses_a_module_without_the_contract():
    with pytest.raises(TypeError, match="erase_subject"):
        module = types.ModuleType("x.data_rights")
        module.PERSONAL, module.NOT_PERSONAL = {}, {}
        module.export_subject = lambda *a: {}
        data_rights.router(module)


def test_coverage():
    md = MetaData()
    for name in ("a", "b", "c"):
        Table(name, md, Column("id", Integer, primary_key=True))
    module = types.ModuleType("m")
    module.PERSONAL, module.NOT_PERSONAL = {"a": "x", "b": "y"}, {"b": "z", "gone": "?"}
    result = data_rights.coverage(md, module)
    assert result.unclassified == {"c"} and result.both == {"b"} and result.unknown == {"gone"}
    assert not result.ok
    with pytest.raises(AssertionError, match="no data-rights decision .*: c"):
        data_rights.assert_covered(md, module, "m")
    module.PERSONAL, module.NOT_PERSONAL = {"a": "x"}, {"b": "z", "c": "w"}
    data_rights.assert_covered(md, module, "m")
