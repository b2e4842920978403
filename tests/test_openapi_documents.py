"""The committed OpenAPI documents (openapi/*.json) are a product: they must be
exactly what the code serves. `make openapi` regenerates them."""

import json
import subprocess
import sys
from collections import Counter

from tools.stack import REPO


def test_committed_documents_match_the_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.openapi", "check"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, "OpenAPI drift; run `make openapi` and commit:\n" + result.stdout[-4000:] + result.stderr[-2000:]


def test_merged_document_has_stable_ids_summaries_and_problem_errors() -> None:
    doc = json.loads((REPO / "openapi" / "aliada.json").read_text())
    operations = [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    ids = Counter(op["operationId"] for _, _, op in operations)
    assert [i for i, n in ids.items() if n > 1] == []
    for method, path, op in operations:
        assert op.get("summary"), (method, path)
        assert op["operationId"].replace("_", "").isalnum() and op["operationId"].islower(), op["operationId"]
        for code, response in op["responses"].items():
            if code[0] in "45":
                # SCIM speaks its own error format (RFC 7644 §3.12) on /scim/v2 only.
                expected = ["application/scim+json"] if path.startswith("/scim/v2") else ["application/problem+json"]
                assert list(response["content"]) == expected, (method, path, code)
    assert not [p for p in doc["paths"] if p.startswith("/internal")]
