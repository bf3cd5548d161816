"""Schemathesis against the local stack (moto server + chalice local) with the served OpenAPI document.

Named to run last among the HTTP tests: it fills the shared stack with generated clients and records.
Bounded inside `make test` (a few examples per operation, mode and user); `make fuzz` runs it for
`PANTAU_FUZZ_SECONDS` (600) with `PANTAU_FUZZ_EXAMPLES` (25) per round. See tests/fuzz.py.
"""

from __future__ import annotations

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
