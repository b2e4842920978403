"""Every document the project names exists in the project: a code comment,
a docstring, a manifest or a README that cites ``something.md`` points at a
file of this repository (relative to the root or to the citing file), never
at a document the project does not contain."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(r"(?<![\w/.:-])((?:\.\./|[\w.-]+/)*[\w.-]+\.md)\b")
URL = re.compile(r"https?://\S+")


def _in_project(base: Path, name: str) -> bool:
    """``name`` read from ``base`` is a file inside this repository (not beside it)."""
    target = (base / name).resolve()
    return target.is_file() and ROOT.resolve() in target.parents


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    this = Path(__file__).resolve()
    return [ROOT / p for p in out.decode().split("\0")
            if p and not p.startswith("openapi/") and (ROOT / p).resolve() != this]


def test_every_cited_document_exists() -> None:
    missing = []
    for path in _tracked():
        if path.suffix not in {".py", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini", ""} or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for name in CITED.findall(URL.sub("", line)):
                if not (_in_project(ROOT, name) or _in_project(path.parent, name)):
                    missing.append(f"{path.relative_to(ROOT)}:{n}: {name}")
    assert not missing, "documents cited but not in the project:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_document() -> None:
    line = "see ../shared/ARCHITECTURE.md and docs/architecture.md"
    names = CITED.findall(line)
    assert names == ["../shared/ARCHITECTURE.md", "docs/architecture.md"]
    assert not _in_project(ROOT, names[0]) and _in_project(ROOT, names[1])
