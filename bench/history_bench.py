"""Benchmark: the compliance report's DynamoDB requests at 2,000 clients with 1 and with 3 years of weekly history.

    python -m bench.history_bench [--write] [--compare]

In-process under moto, like `bench/report_bench.py` (whose seeding of escalations and request counting it
reuses). 2,000 clients over 40 PKs, weekly cadence, each seen every week (a completed check-in, a failed call
before every fourth one, a home visit every quarter), supervision begun 1 or 3 years ago. Each client item is
stored as the write path stores it (`domain/compaction.py`: the facts of windows closed more than `KEEP_DAYS`
ago folded into `contacts_summary`), and with `--compare` also as it was stored before compaction (every fact in
`contacts`). `GET /v1/reports/compliance` is then requested and its DynamoDB requests counted.
"""

from __future__ import annotations

from infra.fake_aws import use_fake_aws

use_fake_aws()

import json
import sys
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import moto  # noqa: F401  (before any boto3 client exists)

from bench.report_bench import BAPAS, NAMESPACE, PKS, measure, seed

CLIENTS = 2000
ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- history_bench:start -->", "<!-- history_bench:end -->"
WIB = ZoneInfo("Asia/Jakarta")


def _item(i: int, years: int, compacted: bool, now: datetime) -> Any:
    from chalicelib.adapters.tables import ClientModel
    from chalicelib.domain import compaction
    from chalicelib.domain import compliance as rules
    from chalicelib.domain.workload import Fact

    client_id = str(uuid.uuid5(NAMESPACE, f"client-{i}"))
    officer = f"pk.bench{i % PKS:02d}"
    today = now.astimezone(WIB).date()
    start = today - timedelta(days=365 * years + i % 7)
    end = start + timedelta(days=365 * (years + 2))
    schedule = rules.Schedule(start=start, end=end, interval_days=7, tz="Asia/Jakarta")
    texts = []
    for week in range((today - start).days // 7 + 1):
        day = start + timedelta(days=week * 7 + i % 5)
        at = datetime.combine(day, time(10), WIB)
        if at > now:
            break
        if week % 4 == 0:
            texts.append(Fact(at - timedelta(days=1), rules.ContactKind.ATTEMPT,
                              f"checkin#{uuid.uuid5(NAMESPACE, f'{i}-{week}-a')}").to_text())
        kind = "visit" if week % 13 == 12 else "checkin"
        texts.append(Fact(at, rules.ContactKind.COUNTED, f"{kind}#{uuid.uuid5(NAMESPACE, f'{i}-{week}')}").to_text())
    summary = None
    if compacted:
        *older, newest = texts  # as the write path leaves it after the latest record
        plan = compaction.plan_fact(schedule, None, older, newest, now)
        texts, summary = (plan.contacts, plan.summary) if plan.rewrites else ([*older, newest], None)
    stamp = now.isoformat()
    return ClientModel(
        client_id, bapas_id=BAPAS, officer=officer, officer_key=f"{BAPAS}#{officer}", name=f"Klien Uji {i}",
        program="asimilasi", supervision_start=start.isoformat(), supervision_end=end.isoformat(),
        checkin_interval_days=7, phones=[{"number": f"+62812{i:08d}", "owner": "client"}],
        address={"text": f"Jl. Uji No. {i}", "village_code": "31.74.09.1001", "village_name": "Jagakarsa"},
        village_code="31.74.09.1001", version=1, created_at=stamp, updated_at=stamp, contacts=texts,
        contacts_summary=summary)


def run(clients: int = CLIENTS, compare: bool = False) -> list[dict[str, Any]]:
    from chalicelib.adapters.tables import ClientModel
    from tests.support import InProcess, reset_caches

    now = datetime.now(UTC)
    results = []
    with InProcess() as env:
        seed(0, 0)  # the escalations only
        for compacted in (True, False) if compare else (True,):
            for years in (1, 3):
                with ClientModel.batch_write() as batch:
                    for item in ClientModel.bapas_index.query(BAPAS, attributes_to_get=["client_id"]):
                        batch.delete(ClientModel(item.client_id))
                size = facts = 0
                with ClientModel.batch_write() as batch:
                    for i in range(clients):
                        item = _item(i, years, compacted, now)
                        size += len(json.dumps(item.serialize()))
                        facts += len(item.contacts)
                        batch.save(item)
                result = measure(env, 2)  # the counts of the second request: caches warm, as in a warm Lambda
                assert result["report_clients"] == clients, result
                results.append({"years": years, "compacted": compacted, "client_bytes": size,
                                "facts_per_client": facts / clients, **result})
    reset_caches()
    return results


def markdown(results: list[dict[str, Any]]) -> str:
    from chalicelib.domain.compaction import KEEP_DAYS

    rows = []
    for r in results:
        ops = ", ".join(f"{op.split('.', 1)[1]} × {n}" for op, n in r["requests"].items())
        rows.append(f"| {'compacted (now)' if r['compacted'] else 'every fact (before)'} | {r['years']} | "
                    f"{r['facts_per_client']:.0f} | {r['client_bytes'] / 1e6:.2f} MB | {ops} |")
    by = {(r["compacted"], r["years"]): r["requests"].get("dynamodb.Query", 0) for r in results}
    verdict = ("equal" if by[(True, 1)] == by[(True, 3)] else "NOT equal")
    before = (f"({by[(False, 1)]} → {by[(False, 3)]} requests)" if (False, 1) in by else
              "(`--compare` measures it: moto needs minutes for the 30 MB of a Bapas with three years of facts)")
    table = "\n".join(rows)
    return f"""{START}
## Compliance report at 2,000 clients with 1 and 3 years of weekly history (`bench/history_bench.py`)

`python -m bench.history_bench [--write]` (in-process, moto): 2,000 clients over 40 PKs, weekly cadence, seen
every week (a completed check-in, a failed call before every fourth, a home visit every quarter), supervision
begun 1 or 3 years ago; client items stored as the write path stores them (facts of windows closed more than
{KEEP_DAYS} days ago folded into `contacts_summary`, `domain/compaction.py`) and, for comparison, with every
fact in `contacts` as before. `GET /v1/reports/compliance` (default range), DynamoDB requests counted.

| client items | years of history | facts on the item | client items | DynamoDB requests |
|---|---|---|---|---|
{table}

With compaction the report's requests are **{verdict}** for 1 and 3 years ({by[(True, 1)]} and {by[(True, 3)]} Queries):
an item holds the facts of the last {KEEP_DAYS} days (about nine weeks here) plus a summary that grows with
changes of outcome and visit days, not with records. Before, every year of weekly history added about 60 facts
(≈ 5 KB) to every item and the report read them all {before}. The same
bound keeps an item far from DynamoDB's 400 KB limit whatever the number of records (`tests/unit/
test_compaction.py`: 5,000 records, at most a few tens of KB).
{END}
"""


def write(section: str) -> None:
    text = DOC.read_text()
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section.strip() + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section.strip() + "\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = sys.argv[1:] if argv is None else argv
    results = run(compare="--compare" in args)
    section = markdown(results)
    print(section)
    if "--write" in args:
        write(section)
    return results


if __name__ == "__main__":
    main()
