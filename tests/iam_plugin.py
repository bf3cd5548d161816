"""pytest plugin (`pytest -p tests.iam_plugin`, used by `make test`): every AWS call the in-process tests make
inside a Lambda entry point must be allowed by that function's policy (`.chalice/policy-dev-<function>.json`,
the stage the tests run as). A refused call fails the session, naming the call, the function and the policy.

Each test process (with pytest-xdist, each worker) writes what it recorded to `test-output/aws-calls.<id>.json`;
the main process merges them into `test-output/aws-calls.json` and checks them once all are in.
HTTP-stack tests (`chalice local` in a subprocess) are not recorded: only code running in a test process is.
"""

from __future__ import annotations

import json
from typing import Any

from infra.iam import ROOT, load_policy, policy_file
from tests.iam_tools import Call, Recorder, violations

STAGE = "dev"
OUT = ROOT / "test-output"
_recorder: Recorder | None = None
_refused: list[Call] = []


def _worker_id(config: Any) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


def pytest_configure(config: Any) -> None:
    global _recorder
    if _worker_id(config) is None:  # the main process: forget the last run's files
        OUT.mkdir(exist_ok=True)
        for old in OUT.glob("aws-calls.*.json"):
            old.unlink()
    _recorder = Recorder()
    _recorder.install()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _recorder is None:
        return
    _recorder.uninstall()
    OUT.mkdir(exist_ok=True)
    me = _worker_id(session.config) or "main"
    (OUT / f"aws-calls.{me}.json").write_text(json.dumps([c.__dict__ for c in sorted(set(_recorder.calls))]))
    if _worker_id(session.config) is not None:
        return  # the main process checks everything
    calls = sorted({Call(**c) for f in OUT.glob("aws-calls.*.json") for c in json.loads(f.read_text())})
    (OUT / "aws-calls.json").write_text(json.dumps([c.__dict__ for c in calls], indent=1) + "\n")
    functions = {c.function for c in calls}
    policies = {fn: load_policy(STAGE, fn) for fn in functions if policy_file(STAGE, fn).exists()}
    _refused[:] = violations(calls, policies)
    if _refused and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _refused:
        return
    terminalreporter.section("IAM: calls the function's policy does not allow", red=True)
    for c in _refused:
        terminalreporter.line(f"{c.function}: {c.action} on {c.resource} ({c.operation}): grant it in infra/iam.py "
                              f"SPEC and run `python -m infra.iam` ({policy_file(STAGE, c.function).name})")
