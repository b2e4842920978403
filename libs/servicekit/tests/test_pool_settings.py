"""The database pool an app gets from its settings (servicekit.settings ``db_pool``): room for
every worker thread plus the overflow, whatever number is kept open while idle."""

from __future__ import annotations

import pytest

from pydantic_settings import SettingsConfigDict

from servicekit.db import make_engine
from servicekit.settings import BaseServiceSettings


class KitSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KIT_", extra="ignore")


@pytest.mark.parametrize(("threads", "overflow", "idle", "expected"), [
    (40, 10, None, {"pool_size": 40, "max_overflow": 10}),
    (16, 10, 2, {"pool_size": 2, "max_overflow": 24}),
    (8, 0, 8, {"pool_size": 8, "max_overflow": 0}),
    (4, 2, 50, {"pool_size": 4, "max_overflow": 2}),  # never more idle than threads
])
def test_the_pool_always_has_a_connection_per_thread_and_keeps_the_idle_ones_asked(
        threads: int, overflow: int, idle: int | None, expected: dict[str, int]) -> None:
    settings = BaseServiceSettings(service_name="kit", threadpool_size=threads, db_pool_overflow=overflow, db_pool_idle=idle)
    assert settings.db_pool == expected
    assert sum(settings.db_pool.values()) == threads + overflow


def test_the_idle_count_is_read_from_the_environment_and_checked(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("KIT_DB_POOL_IDLE", "3")
    settings = KitSettings(service_name="kit")
    engine = make_engine(f"sqlite:///{tmp_path / 'kit.db'}", **settings.db_pool)
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 40 - 3 + 10)  # type: ignore[attr-defined]
    engine.dispose()
    monkeypatch.setenv("KIT_DB_POOL_IDLE", "0")
    with pytest.raises(ValueError, match="db_pool_idle"):
        KitSettings(service_name="kit")
