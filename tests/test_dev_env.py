"""var/dev.env for `make run`: written once with random secrets, kept across
runs, and brought up to date with the code's scopes without losing a key."""

import json

from tools import dev_env


def test_dev_env_keeps_its_secrets_and_follows_the_scopes(tmp_path, monkeypatch):
    path = tmp_path / "dev.env"
    assert dev_env.main(str(path)) == 0
    first = dev_env.read_env(path)
    assert first["GATEWAY_BOOTSTRAP_ADMIN_PASSWORD"] and first["EVALUATION_PSEUDONYM_KEY"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    dev_env.main(str(path))
    assert dev_env.read_env(path) == first

    monkeypatch.setitem(dev_env.SERVICE_SCOPES, "sessions", ["events:read", "extra:scope"])
    dev_env.main(str(path))
    now = dev_env.read_env(path)
    sessions = next(c for c in json.loads(now["GATEWAY_SERVICE_CLIENTS"]) if c["client_id"] == "svc-sessions")
    assert sessions["scopes"] == ["events:read", "extra:scope"] and sessions["secret"] == first["SESSIONS_CLIENT_SECRET"]
    assert {k: v for k, v in now.items() if k != "GATEWAY_SERVICE_CLIENTS"} == {
        k: v for k, v in first.items() if k != "GATEWAY_SERVICE_CLIENTS"
    }
