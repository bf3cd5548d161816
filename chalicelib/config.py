"""Runtime settings, read once from the environment.

Every name has a default that works locally; in AWS the values come from the stage's environment
(`.chalice/config.json` and the merged CloudFormation template).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    region: str
    table_prefix: str
    bucket: str
    user_pool_id: str
    user_pool_client_id: str
    endpoint_url: str | None
    escalation_queue_url: str
    coordinators_topic_arn: str
    max_body_bytes: int
    due_shards: int
    retention_years: int = 5
    # Roles whose users must have TOTP MFA set up in Cognito (the deployed template: coordinator,admin).
    mfa_roles: tuple[str, ...] = ()
    public_url: str = "http://127.0.0.1:8000"  # where reply links point: the API's public base URL

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        # Locally moto server serves the pool's JWKS at the same path as Cognito does.
        base = self.endpoint_url.rstrip("/") if self.endpoint_url else f"https://cognito-idp.{self.region}.amazonaws.com"
        return f"{base}/{self.user_pool_id}/.well-known/jwks.json"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


LOCAL_FLAG = "PANTAU_LOCAL_AWS"  # "1" only in the local stack, the tests and the benchmarks (infra/fake_aws.py)


def _local_endpoint() -> str | None:
    """`AWS_ENDPOINT_URL` (the AWS emulator) only where `PANTAU_LOCAL_AWS=1` says this process is local.

    A deployed function that somehow had it set would otherwise fetch the token-signing keys (JWKS) from that host
    and trust tokens it signed. There it is ignored, and boto3 is told to ignore it as well.
    """
    endpoint = _env("AWS_ENDPOINT_URL")
    if _env(LOCAL_FLAG) == "1":
        os.environ.pop("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", None)  # a local process always talks to the emulator
        return endpoint or None
    if endpoint:
        os.environ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
    return None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        region=_env("AWS_DEFAULT_REGION", _env("AWS_REGION", "ap-southeast-3")),
        table_prefix=_env("PANTAU_TABLE_PREFIX", "pantau-dev"),
        bucket=_env("PANTAU_BUCKET", "pantau-dev-photos"),
        user_pool_id=_env("PANTAU_USER_POOL_ID"),
        user_pool_client_id=_env("PANTAU_USER_POOL_CLIENT_ID"),
        endpoint_url=_local_endpoint(),
        escalation_queue_url=_env("PANTAU_ESCALATION_QUEUE_URL"),
        coordinators_topic_arn=_env("PANTAU_COORDINATORS_TOPIC_ARN"),
        max_body_bytes=int(_env("PANTAU_MAX_BODY_BYTES", str(64 * 1024))),
        due_shards=int(_env("PANTAU_DUE_SHARDS", "8")),
        retention_years=int(_env("PANTAU_RETENTION_YEARS", "5")),
        mfa_roles=tuple(r.strip() for r in _env("PANTAU_MFA_ROLES").split(",") if r.strip()),
        public_url=_env("PANTAU_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
    )


def reset() -> None:
    """Forget cached settings (tests change the environment between stacks)."""
    settings.cache_clear()
