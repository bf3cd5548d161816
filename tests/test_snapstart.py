"""SnapStart runtime hooks (chalicelib/snapstart.py), run the way the Lambda runtime runs them: every callable
registered with `snapshot_restore_py`, before the snapshot in reverse order of registration, after a restore in
order of registration."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from snapshot_restore_py import get_after_restore, get_before_snapshot

ROOT = Path(__file__).resolve().parent.parent


def run_after_restore() -> None:
    for fn, args, kwargs in get_after_restore():
        fn(*args, **kwargs)


def test_importing_the_app_registers_both_hooks():
    import app  # noqa: F401
    from chalicelib import snapstart

    assert snapstart.before_snapshot in [fn for fn, _, _ in get_before_snapshot()]
    assert snapstart.after_restore in [fn for fn, _, _ in get_after_restore()]


def test_two_environments_restored_from_one_snapshot_draw_different_random_numbers():
    import app  # noqa: F401

    random.seed(1234)  # whatever INIT left: every restored copy starts from this same state
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)  # a new environment restored from the snapshot
        run_after_restore()
        draws.append([random.random() for _ in range(4)])
    assert draws[0] != draws[1]
    random.setstate(snapshot)
    without_hook = [random.random() for _ in range(4)]
    random.setstate(snapshot)
    assert without_hook == [random.random() for _ in range(4)]  # what the hook prevents


def test_after_restore_drops_clients_and_connections_and_expires_the_jwks(api):
    from chalicelib.adapters import aws
    from chalicelib.adapters.tables import MODELS, ClientModel
    from chalicelib.auth import JWKS
    from chalicelib.services import common

    fetched = JWKS.fetches
    assert api.get("/v1/me", "pk.andi").status == 200
    assert api.get("/v1/clients", "pk.andi").status == 200  # makes the PynamoDB connection
    assert JWKS.fetches - fetched == 1
    sqs = aws.client("sqs")
    common.transaction()
    assert ClientModel._connection is not None and common._connection is not None
    assert api.get("/v1/me", "pk.andi").status == 200
    assert JWKS.fetches - fetched == 1  # cached

    run_after_restore()

    assert aws.client("sqs") is not sqs  # a new session: credentials and connections of this environment
    assert all(model._connection is None for model in MODELS) and common._connection is None
    assert api.get("/v1/me", "pk.andi").status == 200
    assert JWKS.fetches - fetched == 2  # the JWKS fetched before the snapshot is not trusted for its age
    assert api.get("/v1/clients", "pk.andi").status == 200  # and everything works with the new clients
    assert api.get("/v1/me", "pk.andi").status == 200
    assert JWKS.fetches - fetched == 2


def test_before_snapshot_builds_what_the_first_request_would_build(tmp_path):
    """In a fresh interpreter (nothing built or imported yet by other tests): after `import app` neither pydantic
    nor a schema module nor any other first-use module is imported; the hook imports them and builds every
    model (declared with `defer_build`: a module imported on first use without the hook builds them lazily)."""
    code = """
import json, sys
import app
from snapshot_restore_py import get_before_snapshot
from chalicelib import snapstart

first_use = [m for m in snapstart.FIRST_USE_MODULES if m in sys.modules]
for fn, args, kwargs in reversed(get_before_snapshot()):
    fn(*args, **kwargs)
from pydantic import BaseModel

def ours():
    return [m for m in snapstart._subclasses(BaseModel) if m.__module__.startswith("chalicelib.")]

import importlib
fresh = importlib.reload(importlib.import_module("chalicelib.schemas.records"))  # as on first use, no hook
print(json.dumps({"models": len(ours()), "first_use_at_import": first_use,
                  "deferred_on_first_use": not fresh.CheckinBody.__pydantic_complete__,
                  "deferred_after": sum(not m.__pydantic_complete__ for m in ours() if m.__module__ != fresh.__name__),
                  "imported_after": [m for m in snapstart.FIRST_USE_MODULES if m in sys.modules]}))
"""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    from chalicelib import snapstart

    assert result["models"] > 30
    assert result["deferred_on_first_use"], result  # defer_build (chalicelib/schemas/base.py)
    assert result["first_use_at_import"] == [], result
    assert {"pydantic", "jwt", "chalicelib.schemas.clients"} <= set(snapstart.FIRST_USE_MODULES)
    assert result["deferred_after"] == 0 and result["imported_after"] == list(snapstart.FIRST_USE_MODULES), result


@pytest.mark.parametrize("module", ["chalicelib.snapstart"])
def test_the_hooks_module_is_imported_by_the_handler_module(module):
    # Lambda ignores hooks registered in a module the handler's module does not import.
    source = (ROOT / "app.py").read_text()
    assert f"from {module.rsplit('.', 1)[0]} import {module.rsplit('.', 1)[1]}" in source
