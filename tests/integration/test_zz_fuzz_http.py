"""Schemathesis against the local stack (moto server + chalice local) with the served OpenAPI document.

Named to run last among the HTTP tests: it fills the shared stack with generated clients and records. Two runs,
both bounded inside `make test`: our own generation (bodies repaired half the time so the success paths are
walked; `PANTAU_FUZZ_SECONDS`/`PANTAU_FUZZ_EXAMPLES` lengthen it) and `schemathesis run` itself with all its
default phases as each role (`PANTAU_FUZZ_CLI_SECONDS` per role, default 15). `make fuzz` runs the CLI for 10
minutes per role against a fresh stack each (`python -m tests.fuzz`). See tests/fuzz.py.
"""

from __future__ import annotations

import os
import sys

from tests import fuzz


def test_generated_requests_never_break_the_contract(stack):
    seconds, examples = fuzz.settings_from_env()
    tokens = {user: stack.token(user) for user in ("kasubsi.jaksel", "pk.andi")}
    known = fuzz.known_ids(stack.get)
    report = fuzz.run(stack.api_url, tokens, known, seconds=seconds, examples=examples,
                      log=lambda line: print(line, file=sys.stderr))
    print(report.summary(), file=sys.stderr)
    paths = stack.get("/v1/openapi.json").json["paths"]
    assert report.operations == {f"{m.upper()} {p}" for p, ops in paths.items() for m in ops}  # every operation
    assert not report.failures, "\n\n".join(f"{op} [{check}]\n{example}"
                                            for (op, check), example in sorted(report.failures.items()))
    assert report.requests > 0 and any(200 <= s < 300 for s in report.statuses)


def test_schemathesis_with_all_default_phases_as_each_role(stack, tmp_path):
    """The CLI an outsider runs (`make fuzz` runs it 10 minutes per role on fresh stacks): bounded here."""
    seconds = int(os.environ.get("PANTAU_FUZZ_CLI_SECONDS", "15"))
    runs = []
    for role, user in fuzz.ROLES.items():
        run = fuzz.cli_run(stack.api_url, stack.token(user), role, seconds, tmp_path)
        print(run.summary(), file=sys.stderr)
        runs.append(run)
    assert all(r.report["test_cases"]["generated"] > 0 for r in runs)
    assert not [b for r in runs for b in r.blocking], "\n".join(f"{r.role}: {b}" for r in runs for b in r.blocking)
