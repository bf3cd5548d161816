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

from bench.docs import markers, write_section
from infra.fake_aws import use_fake_aws

use_fake_aws()

import inspect
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import moto  # noqa: F401  (before any boto3 client exists)

from bench.report_bench import BAPAS, NAMESPACE, PKS, measure, seed

CLIENTS = 2000
ROOT = Path(__file__).resolve().parent.parent
START, END = markers("history_bench")
WIB = ZoneInfo("Asia/Jakarta")


def _item(i: int, years: int, compacted: bool, now: datetime) -> Any:
    from chalicelib.adapters.tables import ClientModel
    from chalicelib.domain import compaction
    from chalicelib.domain import compliance as rules
    from chalicelib.domain.workload import Fact

    client_id = str(uuid.uuid5(NAMESPACE, f"client-{i}"))
    officer = f"pk.bench{i % PKS:02d}"
    today = now.astimezone(WIB).date()
    start = today - timedelta(days=364 * years + i % 7)  # 52 weeks a year: the same weekdays, the same last weeks
    end = start + timedelta(days=364 * (years + 2))
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
        kind = "visit" if week % 13 == 3 else "checkin"  # 10, 23, 36, 49 and (3 years) 62, 75 ... weeks ago
        texts.append(Fact(at, rules.ContactKind.COUNTED, f"{kind}#{uuid.uuid5(NAMESPACE, f'{i}-{week}')}").to_text())
    summary = view = None
    if compacted:
        *older, newest = texts  # as the write path leaves it after the latest record
        plan = compaction.plan_fact(schedule, None, older, newest, now)
        texts, summary = (plan.contacts, plan.summary) if plan.rewrites else ([*older, newest], None)
        view = compaction.report_view(schedule, summary, now)
    stamp = now.isoformat()
    return ClientModel(
        client_id, bapas_id=BAPAS, officer=officer, officer_key=f"{BAPAS}#{officer}", name=f"Klien Uji {i}",
        program="asimilasi", supervision_start=start.isoformat(), supervision_end=end.isoformat(),
        checkin_interval_days=7, phones=[{"number": f"+62812{i:08d}", "owner": "client"}],
        address={"text": f"Jl. Uji No. {i}", "village_code": "31.74.09.1001", "village_name": "Jagakarsa"},
        village_code="31.74.09.1001", version=1, created_at=stamp, updated_at=stamp, contacts=texts,
        contacts_summary=summary, report_summary=view, tracking_from=start.isoformat())


def _read_bytes() -> int:
    """What the report's Query reads: the Bapas's entries in the `report-index` (the projected attributes and the
    keys), sized as DynamoDB sizes items (UTF-8 names plus values; moto's `Item.size`)."""
    from moto.dynamodb.models.dynamo_type import Item

    from chalicelib.adapters.aws import client
    from chalicelib.adapters.tables import ClientModel

    total = 0
    pages = client("dynamodb").get_paginator("query").paginate(
        TableName=ClientModel.Meta.table_name, IndexName="report-index",
        KeyConditionExpression="bapas_id = :b", ExpressionAttributeValues={":b": {"S": BAPAS}})
    for page in pages:
        total += sum(Item(None, None, item).size() for item in page["Items"])  # type: ignore[arg-type]
    return total


@contextmanager
def index_pages() -> Iterator[None]:
    """moto cuts a Query on a secondary index into 1 MB pages by the size of the whole table items; DynamoDB by
    the size of the index entries (an INCLUDE projection's attributes and the keys). Within this block moto sizes
    them as DynamoDB does, so the requests counted are those DynamoDB would answer."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    query, size = Table.query, Item.size
    signature = inspect.signature(query)
    local = threading.local()

    def indexed_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = signature.bind(self, *args, **kwargs).arguments.get("index_name")
        local.index = self.get_index(index_name) if index_name else None
        try:
            return query(self, *args, **kwargs)
        finally:
            local.index = None

    def entry_size(self: Any) -> int:
        index = getattr(local, "index", None)
        if index is None or getattr(local, "sizing", False):
            return size(self)
        local.sizing = True
        try:
            return size(index.project(self))
        finally:
            local.sizing = False

    Table.query, Item.size = indexed_query, entry_size  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query, Item.size = query, size  # type: ignore[method-assign]


def run(clients: int = CLIENTS, compare: bool = False) -> list[dict[str, Any]]:
    from chalicelib.adapters.tables import ClientModel
    from tests.support import InProcess, reset_caches

    now = datetime.now(UTC)
    results = []
    with InProcess() as env, index_pages():
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
                                "facts_per_client": facts / clients, "read_bytes": _read_bytes(), **result})
    reset_caches()
    return results


def markdown(results: list[dict[str, Any]]) -> str:
    from chalicelib.domain.compaction import KEEP_DAYS

    clients = results[0]["report_clients"]
    rows = []
    for r in results:
        ops = ", ".join(f"{op.split('.', 1)[1]} × {n}" for op, n in r["requests"].items())
        rows.append(f"| {'compacted (now)' if r['compacted'] else 'every fact (before)'} | {r['years']} | "
                    f"{r['facts_per_client']:.0f} | {r['client_bytes'] / 1e6:.2f} MB | "
                    f"{r['read_bytes']:,} B ({r['read_bytes'] / clients:.1f} B a client) | {ops} |")
    by = {(r["compacted"], r["years"]): r["requests"].get("dynamodb.Query", 0) for r in results}
    verdict = ("equal" if by[(True, 1)] == by[(True, 3)] else "NOT equal")
    before = (f"({by[(False, 1)]} → {by[(False, 3)]} requests)" if (False, 1) in by else
              "(`--compare` measures it: moto needs minutes for the 30 MB of a Bapas with three years of facts)")
    table = "\n".join(rows)
    read = {(r["compacted"], r["years"]): r["read_bytes"] for r in results}
    same_bytes = ("exactly the same number of bytes" if read[(True, 1)] == read[(True, 3)] else
                  f"{read[(True, 1)]:,} and {read[(True, 3)]:,} bytes")
    return f"""{START}
## Compliance report at 2,000 clients with 1 and 3 years of weekly history (`bench/history_bench.py`)

`python -m bench.history_bench [--write] [--compare]` (in-process, moto): 2,000 clients over 40 PKs, weekly
cadence, seen every week (a completed check-in, a failed call before every fourth, a home visit every quarter),
supervision begun 52 or 156 weeks ago; client items stored as the write path stores them (facts of windows
closed more than {KEEP_DAYS} days ago folded into `contacts_summary`, and its bounded view `report_summary`,
`domain/compaction.py`) and, with `--compare`, with every fact in `contacts` as before compaction.
`GET /v1/reports/compliance` (default range), DynamoDB requests counted. "Read by the report" is the size of the
Bapas's entries in the clients table's `report-index` (a GSI whose INCLUDE projection carries only what the
report reads), as DynamoDB sizes items. moto cuts a query on an index into 1 MB pages by the whole table items;
DynamoDB by the index entries: the bench has moto do the latter (`index_pages`), so the requests are DynamoDB's.

| client items | years of history | facts on the item | client items (whole) | read by the report | DynamoDB requests |
|---|---|---|---|---|---|
{table}

The report's requests are **{verdict}** for 1 and 3 years ({by[(True, 1)]} and {by[(True, 3)]} Queries), and it
reads {same_bytes}. Per client the `report-index` holds the schedule, the facts of the last {KEEP_DAYS} days and
two views written by the write path in the record's own transaction, each of a size fixed by construction:
`report_summary` for the compacted windows (window numbers of fixed width; one outcome character per window of
the last 14 months, padded to the most windows those can hold; the missed streak the older windows leave, capped
at 3; the latest counted and `inactive` instants; the visit days of the last 14 months: `compaction.ReportView`)
and `progress_summary` for the progress reports (one bit a due period of the supervision, plus the reports of
the last two months: `progress.view`); stage reviews are one a stage (three stages). So what the report reads
of a client depends on its last 14 months, never on how long it has been supervised: `tests/unit/
test_report_view.py` checks that a client supervised for three years has views exactly as large as one
supervised for one year (with the same last 14 months: a home visit 53 to 63 weeks ago, which the one-year client
cannot have had, is one more visit day, 3 bytes; this bench's visits fall outside that band), and (property
tests) that the report's numbers from the views equal the full history's. The whole item still grows by a few
bytes a year (the summary's window count and run lengths), which no longer reaches the report. Before
compaction every year of weekly history added about 60 facts (≈ 5 KB) to every item and the report read them
all {before}.
{END}
"""


def write(section: str) -> None:
    write_section("history_bench", section)


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
