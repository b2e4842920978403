"""The simulation clock: off by default, shared through one file when on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servicekit import clock


def test_system_clock_when_no_file_is_named(monkeypatch):
    monkeypatch.delenv(clock.ENV, raising=False)
    assert clock.offset() == 0.0
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5


def test_simulated_now_is_read_from_the_named_file(monkeypatch, tmp_path):
    path = tmp_path / "clock"
    monkeypatch.setenv(clock.ENV, str(path))
    assert clock.offset() == 0.0  # named but not written yet: the system clock
    target = datetime(2027, 3, 1, 17, 0, tzinfo=UTC)
    clock.set_simulated_now(path, target)
    assert abs((clock.now() - target).total_seconds()) < 5
    later = target + timedelta(days=9)
    clock.set_simulated_now(path, later)  # a second move is seen at once
    assert abs((clock.now() - later).total_seconds()) < 5
    with pytest.raises(ValueError):
        clock.set_simulated_now(path, datetime(2027, 3, 1))
    path.write_text("next tuesday\n")
    with pytest.raises(RuntimeError, match="number of seconds"):
        clock.offset()


def test_a_named_file_is_read_without_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(clock.ENV, raising=False)
    path = tmp_path / "demo-clock"
    clock.set_simulated_now(path, datetime(2028, 1, 1, tzinfo=UTC))
    assert clock.offset() == 0.0 and clock.offset(path) > 0
