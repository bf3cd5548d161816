"""The environment of a process that must never reach real AWS: fake credentials, the Jakarta region.

Call `use_fake_aws()` before anything creates a boto3 client or imports the table models (they read the
prefix and region at import). Tests and benchmarks use moto in-process; the local stack adds its endpoint.
"""

from __future__ import annotations

import os

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-3",
    "AWS_REGION": "ap-southeast-3",
    "PANTAU_TABLE_PREFIX": "pantau-dev",
    "POWERTOOLS_METRICS_NAMESPACE": "Pantau",
    "POWERTOOLS_SERVICE_NAME": "pantau",
    "PANTAU_LOCAL_AWS": "1",  # AWS_ENDPOINT_URL (moto server) is honoured only with this flag (chalicelib/config.py)
}


def use_fake_aws(endpoint: str | None = None) -> None:
    os.environ.update(FAKE_ENV)
    os.environ.pop("AWS_PROFILE", None)
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
    else:
        os.environ.pop("AWS_ENDPOINT_URL", None)
