"""boto3 clients, created once per process (and re-created when tests reset settings)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.config import settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    cfg = settings()
    kwargs: dict[str, Any] = {"region_name": cfg.region, "config": _CONFIG}
    if service == "s3":
        kwargs["config"] = _CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    return boto3.client(service, **kwargs)


def reset() -> None:
    client.cache_clear()
