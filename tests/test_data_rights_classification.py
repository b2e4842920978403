"""Every table of every app is classified for data-subject rights, exactly once.

For each app of ``APPS`` (its package, e.g. ``gateway`` or
``services.participants``): every table of its metadata is in its
``data_rights.PERSONAL`` (with an export and an erasure handler) or in
``data_rights.NOT_PERSONAL`` (with the reason), never both, and nothing else;
its export and erasure handlers answer for every PERSONAL table; and its app
mounts the internal endpoints. A new table without a decision fails here.

``APPS`` is every app; a new app is added here (``test_every_module_is_checked``
fails until it is).
"""

import importlib
import uuid
from pathlib import Path
from types import ModuleType

import pytest
from sqlmodel import Session

from servicekit import data_rights
from servicekit.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
ALL_APPS = ("gateway", "services.participants", "services.matching", "services.sessions", "services.evaluation",
            "services.notifications")
APPS = ALL_APPS


def _module(app: str) -> ModuleType:
    importlib.import_module(f"{app}.main")  # every model module the app uses is imported by its app
    return importlib.import_module(f"{app}.data_rights")


def _metadata(app: str):
    return importlib.import_module(f"{app}.models").Base.metadata


def test_every_module_is_checked() -> None:
    present = {app for app in ALL_APPS if (ROOT / app.replace(".", "/") / "data_rights.py").exists()}
    assert present <= set(APPS), f"data_rights modules not checked here (add them to APPS): {sorted(present - set(APPS))}"


@pytest.mark.parametrize("app", APPS)
def test_every_table_is_classified_once(app: str) -> None:
    module = _module(app)
    assert all(reason.strip() for reason in {**module.PERSONAL, **module.NOT_PERSONAL}.values()), app
    data_rights.assert_covered(_metadata(app), module, app)


@pytest.mark.parametrize("app", APPS)
def test_handlers_answer_for_every_personal_table(app: str, tmp_path: Path) -> None:
    """On an empty database: the export names every PERSONAL table (her rows:
    none), the erasure counts every PERSONAL table (zero), twice (idempotent)."""
    module = _module(app)
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}", pool_size=1)
    _metadata(app).create_all(engine)
    args = (uuid.uuid4(), str(uuid.uuid4()), [uuid.uuid4()])
    with Session(engine) as session:
        exported = module.export_subject(session, *args)
        assert set(exported) == set(module.PERSONAL), app
        assert all(rows == [] for rows in exported.values())
        for _ in range(2):
            erased = module.erase_subject(session, *args)
            # Erasure counts every PERSONAL table, and may also count the transport copies it scrubs in
            # NOT_PERSONAL tables (outbox events, stored answers of idempotent requests).
            assert set(module.PERSONAL) <= set(erased) <= set(module.PERSONAL) | set(module.NOT_PERSONAL), app
            assert set(erased.values()) == {0}
        session.rollback()
    engine.dispose()


@pytest.mark.parametrize("app", APPS)
def test_the_app_mounts_the_internal_endpoints(app: str) -> None:
    """Mounted: a call without a token is a 401 (an unknown path would be a 404)."""
    from fastapi.testclient import TestClient

    main = importlib.import_module(f"{app}.main")
    client = TestClient(main.create_app(), raise_server_exceptions=False)  # no lifespan: nothing is served
    for path in (data_rights.EXPORT_PATH, data_rights.ERASURE_PATH):
        assert client.post(path, json={}).status_code == 401, (app, path)
    assert client.post("/internal/data-subjects/nothing-here", json={}).status_code == 404
