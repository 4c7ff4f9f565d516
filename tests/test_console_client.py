"""The console's typed client matches the OpenAPI document: CI fails when an endpoint or
field changed and `make console-client` was not run (the console would call what the
API no longer has, or not know what it now returns)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[1] / "console"
GENERATOR = CONSOLE / "node_modules" / "openapi-typescript" / "bin" / "cli.js"
NODE = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "node"


def test_the_generated_client_is_up_to_date(live, tmp_path):
    node = str(NODE) if NODE.exists() else shutil.which("node")
    if node is None or not GENERATOR.exists():
        pytest.fail("the console's packages are missing: run `make console` (make test does)")
    from backend.extensions import api

    with live.app.app_context():
        spec = api.spec.to_dict()
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(spec, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    out = tmp_path / "schema.d.ts"
    subprocess.run([node, str(GENERATOR), str(source), "-o", str(out)], check=True, capture_output=True,
                   timeout=120)
    checked_in = (CONSOLE / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == checked_in, (
        "console/src/api/schema.d.ts is stale: run `make console-client` and commit it")
