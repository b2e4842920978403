"""The boundaries of docs/architecture.md hold: import-linter's contracts
(pyproject.toml, ``[tool.importlinter]``) are checked on every run of the
suite. Apps never import each other (a test may start another app as a real
peer), servicekit imports no app, the apps import no tool or benchmark, the
pure cores import no web framework, database layer or HTTP client, and the
routers of sessions, matching, evaluation, participants and the gateway import
no table."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_contract_is_kept() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "libs")])}
    run = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert f"Contracts: {len(contracts)} kept, 0 broken." in run.stdout
    assert len(contracts) >= 4
