"""Schemathesis against the running API, with the OpenAPI document the API serves (`GET /v1/openapi.json`).

Every operation is called with generated requests, positive (valid by the document) and negative (invalid), as
each user given (a coordinator and a PK), half the time on ids that exist (a seeded client, an open escalation,
a village with contacts) so the calls get past the 404s. Checks on every response: no 5xx
(`not_a_server_error`), the status is documented for the operation (`status_code_conformance`), so is the
Content-Type (`content_type_conformance`), and the body validates against the documented schema
(`response_schema_conformance`).

Used by `tests/integration/test_zz_fuzz_http.py` (bounded, inside `make test`) and by `make fuzz` (a run of
`PANTAU_FUZZ_SECONDS`, default 600, repeating rounds with new random data until the time is up).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass
class Report:
    requests: int = 0
    rounds: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    operations: set[str] = field(default_factory=set)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)  # (operation, check) -> example

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.1f} s over {len(self.operations)} operations, "
                f"{self.rounds} round(s); statuses {dict(sorted(self.statuses.items()))}; "
                f"{len(self.failures)} distinct failure(s)")


def settings_from_env() -> tuple[float, int]:
    """(seconds, examples per operation, mode and user in a round): bounded by default, `make fuzz` sets more."""
    seconds = float(os.environ.get("PANTAU_FUZZ_SECONDS", "0"))
    examples = int(os.environ.get("PANTAU_FUZZ_EXAMPLES", "25" if seconds else "6"))
    return seconds, examples


def run(api_url: str, tokens: dict[str, str], known: dict[str, dict[str, str]], seconds: float = 0,
        examples: int = 6, log: Callable[[str], None] = lambda _: None) -> Report:
    """Fuzz every operation as each user; at least one round, more until `seconds` have passed."""
    session = requests.Session()
    document = session.get(f"{api_url}/v1/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    report = Report()
    started = time.monotonic()
    while True:
        for user, token in tokens.items():
            for operation in operations:
                if report.rounds and time.monotonic() - started >= seconds:  # every operation had its round
                    report.seconds = time.monotonic() - started
                    return report
                for mode in MODES:
                    _fuzz(operation, mode, api_url, session, token, known.get(user, {}), examples, report)
            report.seconds = time.monotonic() - started
            log(f"round {report.rounds + 1}, {user}: {report.summary()}")
        report.rounds += 1
        report.seconds = time.monotonic() - started
        if report.seconds >= seconds:
            return report


def _fuzz(operation: Any, mode: GenerationMode, api_url: str, session: requests.Session, token: str,
          known: dict[str, str], examples: int, report: Report) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    report.operations.add(label)
    strategy = operation.as_strategy(generation_mode=mode)
    fixed = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
    headers = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=strategy, repair=st.booleans(), minutes=st.integers(0, 60 * 24 * 30))
    def call(case: Any, repair: bool, minutes: int) -> None:
        if repair and mode is GenerationMode.POSITIVE:
            case.path_parameters = {**(case.path_parameters or {}), **fixed}
            if isinstance(case.body, dict):
                case.body = _repaired(case.body, known, minutes)
        try:
            response = case.call(base_url=api_url, session=session, headers=headers, timeout=30)
        except requests.RequestException as exc:  # the API must answer everything
            report.failures.setdefault((label, "connection"), f"{type(exc).__name__}: {exc}")
            return
        report.requests += 1
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # a check failed: keep the first example of each, go on
            names = sorted({type(f).__name__ for f in getattr(exc, "exceptions", [exc])})
            key = (label, ",".join(names))
            if key not in report.failures:
                curl = case.as_curl_command(headers={"Authorization": "Bearer <token>"}, base_url=api_url)
                report.failures[key] = f"{mode.value}: {response.status_code} {response.text[:300]}\n{exc}\n{curl}"

    with contextlib.suppress(HypothesisException):  # nothing to generate in this mode (no parameters ...)
        call()


# Fields no generator can guess right (a time in the supervision period and not in the future, a PK of the
# Bapas, an existing client, a valid Indonesian number, a village in the official list): half the positive
# cases get them right, so the fuzzer also walks the success paths (201s, replays, conflicts) with the rest
# of the body still generated.
_NOW_FIELDS = ("occurred_at", "visited_at", "submitted_at")


def _repaired(body: Any, known: dict[str, str], minutes: int) -> Any:
    if isinstance(body, list):
        return [_repaired(v, known, minutes) for v in body]
    if not isinstance(body, dict):
        return body
    out = {}
    for key, value in body.items():
        if key in _NOW_FIELDS:
            value = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")
        elif key == "officer" and isinstance(value, str):
            value = "pk.andi"
        elif key == "client_id" and "client_id" in known:
            value = known["client_id"]
        elif key in ("number", "phone") and isinstance(value, str):
            value = "0812-3456-7890"
        elif key == "village_code" and isinstance(value, str):
            value = known.get("village_code", "31.74.09.1001")
        elif key == "photos":
            value = []
        else:
            value = _repaired(value, known, minutes)
        out[key] = value
    return out


def known_ids(get: Callable[[str, str], Any]) -> dict[str, dict[str, str]]:
    """Ids that exist, per user: the coordinator's Bapas client, the PK's own client, an escalation, a village."""
    out: dict[str, dict[str, str]] = {}
    for user in ("kasubsi.jaksel", "pk.andi"):
        ids = {"village_code": "31.74.09.1001"}
        clients = get("/v1/clients?limit=5", user).json["items"]
        if clients:
            ids["client_id"] = clients[0]["id"]
        escalations = get("/v1/escalations?state=open&limit=1", user).json["items"]
        if escalations:
            ids["escalation_id"] = escalations[0]["id"]
        out[user] = ids
    return out
