"""Issue 7: a Python client generated from the gateway's merged /openapi.json
(openapi-python-client, the settings in clients/) runs a short scenario through
the real gateway: log in, create a program, read its funnel.

The generator must report no warning: an operation or schema it cannot
express would silently be missing from every generated client."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import date
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from services.participants.tests.conftest import phases
from tools.stack import Stack

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def aliada_client(stack: Stack, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("generated-client")
    spec = out / "openapi.json"
    spec.write_bytes(httpx.get(f"{stack.gateway}/openapi.json", timeout=60).raise_for_status().content)
    result = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", spec, "--meta", "none",
         "--config", REPO / "clients" / "openapi-python-client.yaml", "--output-path", out / "aliada_client",
         "--custom-template-path", REPO / "clients" / "templates"],
        capture_output=True, text=True, timeout=300, cwd=out,
        env={"PATH": f"{BIN}:/usr/bin:/bin"},  # ruff formats the generated code
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("aliada_client")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "aliada_client" or m.startswith("aliada_client.")]:
            del sys.modules[name]


def operation(client_package, operation_id: str):
    """The generated module of one operation. Generators file operations by tag,
    which may change; the operation id is the stable name a client relies on."""
    api = importlib.import_module(f"{client_package.__name__}.api")
    found = [f"{api.__name__}.{tag}.{operation_id}" for tag in (p.name for p in Path(api.__file__).parent.iterdir() if p.is_dir())
             if (Path(api.__file__).parent / tag / f"{operation_id}.py").exists()]  # fmt: skip
    assert len(found) == 1, (operation_id, found)
    return importlib.import_module(found[0])


def test_generated_client_logs_in_creates_a_program_and_reads_its_funnel(aliada_client, stack: Stack) -> None:
    from aliada_client import AuthenticatedClient, Client
    from aliada_client.models import AccountCreate, InstitutionCreate, ProgramCreate, TokenRequest

    create_account, get_me, issue_token, get_funnel, create_institution, create_program = (
        operation(aliada_client, name)
        for name in ("create_account", "get_me", "issue_token", "get_funnel", "create_institution", "create_program")
    )

    anonymous = Client(base_url=stack.gateway, raise_on_unexpected_status=True)

    def log_in(email: str, password: str) -> AuthenticatedClient:
        token = issue_token.sync(client=anonymous, body=TokenRequest(grant_type="password", username=email, password=password))
        assert token.__class__.__name__ == "TokenResponse", token
        return AuthenticatedClient(base_url=stack.gateway, token=token.access_token, raise_on_unexpected_status=True)

    admin = log_in(stack.admin_email, stack.admin_password)
    tag = uuid4().hex[:8]
    institution = create_institution.sync(client=admin, body=InstitutionCreate.from_dict(
        {"name": f"Universidad {tag}", "slug": f"gen-{tag}", "country": "MX", "timezone": "America/Mexico_City"}))  # fmt: skip
    email, password = f"coordinacion-{tag}@uni.example", "una-contraseña-larga-1"
    created = create_account.sync(client=admin, body=AccountCreate.from_dict(
        {"email": email, "password": password, "roles": ["coordinator"], "institution_id": str(institution.id)}))  # fmt: skip
    assert created.email == email

    coordinator = log_in(email, password)
    me = get_me.sync(client=coordinator)
    assert me.roles == ["coordinator"] and str(me.institution_id) == str(institution.id)
    program = create_program.sync(institution_id=institution.id, client=coordinator, body=ProgramCreate.from_dict({
        "name": "Mentoras STEM", "description": "Programa de mentoría.", "languages": ["es", "en"], "mode": "one_to_one",
        "delivery": "hybrid", "phases": phases(date.today()), "criteria": [],
        "privacy_notice": {"version": "2026-1", "text": "Aviso de privacidad del programa."},
    }))  # fmt: skip
    assert program.status == "draft"

    funnel = get_funnel.sync(program_id=program.id, client=coordinator)
    assert funnel.__class__.__name__ == "FunnelPublic", funnel
    assert str(funnel.program_id) == str(program.id)

    # Every POST carries an Idempotency-Key by default (one per call); a caller retrying
    # with her own key gets the first result back, not a duplicate.
    sent: list[httpx.Request] = []
    watched = AuthenticatedClient(base_url=stack.gateway, token=coordinator.token, raise_on_unexpected_status=True,
                                  httpx_args={"event_hooks": {"request": [sent.append]}})  # fmt: skip
    body = ProgramCreate.from_dict({
        "name": "Mentoras STEM 2", "description": "Otra convocatoria.", "languages": ["es"], "mode": "one_to_one",
        "delivery": "hybrid", "phases": phases(date.today()), "criteria": [],
        "privacy_notice": {"version": "2026-1", "text": "Aviso de privacidad del programa."},
    })  # fmt: skip
    first = create_program.sync(institution_id=institution.id, client=watched, body=body)
    second = create_program.sync(institution_id=institution.id, client=watched, body=body)
    keys = [r.headers.get("Idempotency-Key") for r in sent]
    assert len(keys) == 2 and all(keys) and keys[0] != keys[1] and first.id != second.id
    replayed = create_program.sync(institution_id=institution.id, client=watched, body=body, idempotency_key=keys[0])
    assert replayed.id == first.id and sent[-1].headers["Idempotency-Key"] == keys[0]
    assert watched.get_httpx_client().get(f"/v1/programs/{first.id}").request.headers.get("Idempotency-Key") is None

    # The client maps errors to the documented problem model.
    refused = get_funnel.sync(program_id=program.id, client=anonymous)
    assert refused.__class__.__name__ == "Problem" and refused.status == 401
