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


# ----- schemathesis itself, all default phases, as each role (`make fuzz`) --------------------------------
# The fuzz above repairs bodies so it walks the success paths; the CLI run below is what an outsider runs:
# `schemathesis run` with its default phases (examples, coverage, fuzzing, stateful, links inferred from the
# document and the responses) and default checks, against a fresh local stack per role.

ROLES = {"coordinator": "kasubsi.jaksel", "pk": "pk.andi", "admin": "admin.pusat"}
# Failure codes that break the contract: ST1xx are server errors and responses that disagree with the document
# (status, content type, headers, body schema). ST2xx-ST4xx are reported: they say how the API treats input the
# document does not describe fully (e.g. a cursor the API never issued is "schema-valid" but refused with 422).
BLOCKING_PREFIX = "ST1"


# The methods `chalice local` hands to the app (chalice/local.py: do_GET = do_PUT = ... = _generic_handle).
LOCAL_SERVER_METHODS = ("GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS")


def _excepted(code: str, operations: list[str]) -> bool:
    """A method `chalice local`'s http.server does not implement (TRACE, or schemathesis' QUERY) is answered 501
    by that server itself (no `do_<METHOD>`): the app never sees it, and API Gateway never routes such a method
    to the function."""
    return code in ("ST101", "ST204") and all(op.split(" ", 1)[0] not in LOCAL_SERVER_METHODS for op in operations)


@dataclass
class CliRun:
    role: str
    seconds: float
    report: dict[str, Any]
    output: str

    @property
    def failures(self) -> list[dict[str, Any]]:
        return list(self.report.get("failures") or [])

    @property
    def errors(self) -> list[Any]:
        return list(self.report.get("errors") or [])

    @property
    def blocking(self) -> list[str]:
        out = [f"{f['code']} {f['title']}: {', '.join(f['operations'])}" for f in self.failures
               if f["code"].startswith(BLOCKING_PREFIX) and not _excepted(f["code"], f["operations"])]
        out += [f"error: {e}" for e in self.errors]
        return out

    def summary(self) -> str:
        cases = self.report.get("test_cases", {})
        found = "; ".join(f"{f['code']} x{f['count']}" + (" (TRACE/QUERY, chalice local)" if _excepted(
            f["code"], f["operations"]) else "") for f in self.failures) or "none"
        phases = ", ".join(f"{k} {v['status']}" for k, v in (self.report.get("phases") or {}).items())
        return (f"{self.role}: {self.seconds:.0f} s, {cases.get('generated', 0)} test cases ({phases}); "
                f"failures {found}; errors {len(self.errors)}; blocking {len(self.blocking)}")


def cli_run(api_url: str, token: str, role: str, seconds: int, out_dir: Any, max_examples: int | None = None) -> CliRun:
    """`schemathesis run` against the served document as one user; returns its JSON report."""
    import json as _json
    import subprocess
    import sys
    from pathlib import Path

    out = (Path(out_dir) / role).resolve()  # absolute: the CLI runs with `out` as its working directory
    out.mkdir(parents=True, exist_ok=True)
    cli = Path(sys.executable).with_name("schemathesis")
    cmd = [str(cli), "run", f"{api_url}/v1/openapi.json", "-H", f"Authorization: Bearer {token}",
           "--max-time", str(int(seconds)), "--workers", "1", "--report", "json", "--report-dir", str(out),
           "--report-json-path", str(out / "report.json"), "--no-color", "--output-sanitize", "true"]
    if max_examples:
        cmd += ["--max-examples", str(max_examples)]
    started = time.monotonic()
    # Run in the output directory: the CLI keeps its crash cache (.schemathesis/) in the working directory.
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 600, cwd=out)
    elapsed = time.monotonic() - started
    (out / "output.txt").write_text(proc.stdout + proc.stderr)
    report = _json.loads((out / "report.json").read_text())
    return CliRun(role, elapsed, report, proc.stdout)


def main(argv: list[str] | None = None) -> int:
    """`make fuzz`: a fresh local stack per role, schemathesis with all default phases for the given seconds."""
    import argparse
    import json as _json
    import sys
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m tests.fuzz")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("PANTAU_FUZZ_SECONDS", "600")),
                        help="per role")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--out", default="test-output/fuzz")
    args = parser.parse_args(argv)

    from infra.fake_aws import use_fake_aws

    use_fake_aws()
    from infra.local import start_stack
    from infra.seed import login

    runs = []
    for role in args.roles.split(","):
        stack = start_stack(log_dir=Path(args.out) / role / "stack-logs")
        try:
            token = login("ap-southeast-3", stack.resources.user_pool_client_id, ROLES[role])
            run_ = cli_run(stack.api_url, token, role, args.seconds, args.out)
        finally:
            stack.stop()
        print(run_.summary(), flush=True)
        for line in run_.blocking:
            print("  BLOCKING", line, flush=True)
        runs.append(run_)
    Path(args.out, "summary.json").write_text(_json.dumps([
        {"role": r.role, "seconds": round(r.seconds), "test_cases": r.report.get("test_cases"),
         "phases": r.report.get("phases"), "failures": r.failures, "errors": r.errors, "blocking": r.blocking}
        for r in runs], indent=2))
    sys.stdout.flush()
    return 1 if any(r.blocking for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
