"""pytest plugin (`pytest -p infra.iam_plugin`, used by `make test`): every AWS call the in-process tests make
inside a Lambda entry point must be allowed by that function's policy (`.chalice/policy-dev-<function>.json`,
the stage the tests run as). The calls are written to `test-output/aws-calls.json`; a refused call fails the
session with the call, the function and the policy file to fix.

HTTP-stack tests (`chalice local` in a subprocess) are not recorded: only code running in this process is.
"""

from __future__ import annotations

import json
from typing import Any

from infra.iam import ROOT, Recorder, load_policy, policy_file, violations

STAGE = "dev"
_recorder: Recorder | None = None
_refused: list[Any] = []


def pytest_configure(config: Any) -> None:
    global _recorder
    if hasattr(config, "workerinput") or _recorder is not None:
        pass
    _recorder = Recorder()
    _recorder.install()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _recorder is None:
        return
    _recorder.uninstall()
    calls = sorted(set(_recorder.calls))
    policies = {fn: load_policy(STAGE, fn) for fn in {c.function for c in calls} if policy_file(STAGE, fn).exists()}
    _refused[:] = violations(calls, policies)
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    (out / "aws-calls.json").write_text(json.dumps(
        [{"function": c.function, "action": c.action, "resource": c.resource, "operation": c.operation}
         for c in calls], indent=1) + "\n")
    if _refused and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _refused:
        return
    terminalreporter.section("IAM: calls the function's policy does not allow", red=True)
    for c in _refused:
        terminalreporter.line(f"{c.function}: {c.action} on {c.resource} ({c.operation}) -> "
                              f"{policy_file(STAGE, c.function).relative_to(ROOT)} (generate with infra/iam.py)")
