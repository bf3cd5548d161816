"""boto3 clients, created once per process for each (service, region, endpoint)."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.config import settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
_clients: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()
_session: boto3.Session | None = None


def client(service: str, region: str | None = None) -> Any:
    region = region or settings().region
    key = (service, region, os.environ.get("AWS_ENDPOINT_URL", ""))
    found = _clients.get(key)
    if found is None:
        global _session
        with _lock:
            found = _clients.get(key)
            if found is None:
                if _session is None:
                    _session = boto3.Session()
                config = _CONFIG
                if service == "s3":
                    config = _CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"}))
                found = _session.client(service, region_name=region, config=config)
                _clients[key] = found
    return found


def reset() -> None:
    """Nothing to forget: clients are keyed by endpoint, so a new stack gets new clients."""


def forget_clients() -> None:
    """Drop the session and every client: the next call makes new ones, with fresh credentials and connections
    (after a SnapStart restore: chalicelib/snapstart.py)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
