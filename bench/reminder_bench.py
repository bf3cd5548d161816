"""Benchmark: the daily reminder run at 10,000 and 100,000 clients -- AWS requests per reminded client.

In-process under moto, seeded like `bench/escalation_bench.py`: a fresh moto account, the two Bapas and their
staff, N client items written with `ClientModel.batch_write()` (25 per BatchWriteItem, not transactions). Every
client is in the middle of its supervision with a counted contact in each closed window (70 % weekly, 30 %
monthly); its current window opened 1 to interval-1 days ago and `due_at` (the `due-index` key) is its close.
On top of that, drawn at random per client (`MIX`): a counted contact in the current window already, reminders
switched off by a coordinator, no mobile number of the client's own (the guarantor's mobile gets the reminder),
no mobile number at all (landlines only: the reminder is recorded `no_contact`, nothing sent). The Bapas's
`sms_daily_cap` is raised above the population (`seed_directory`) so the cap defers nothing here.

Three runs of the app's scheduled function (`app.send_reminders`, 09:00 WIB as scheduled): yesterday's (which
reminds the windows closing tomorrow, so today's run finds them already reminded), today's (the measured one),
and today's again five minutes later (a re-run sends nothing). Each run's summary is asserted outcome by outcome
against what the seeded population must give (computed here from the seed, not by the app's rules), the SMS
count against the summary, and zero Scans. AWS requests are counted by service and operation with the botocore
`before-send` hook of `bench/records_bench.py` on every client the app uses (each model's connection, the
transaction connection, SNS, Cognito). Headline: AWS requests per reminded client in today's run.

Two moto artefacts are removed, as in the escalation bench: TransactWriteItems' deep copy of every table it
touches (`timed_aws_calls`; no cancelled transaction allowed), and, because the run reads three quarters of the
table from the due index (every weekly client's window closes within the 7 days it reads ahead), moto's
answer to each page of a GSI Query, which filters and sorts the whole table again (O(table) per page, so
O(table^2) per run: hours at 100,000 clients). `moto_fast_index_queries` keeps each (index, partition) answer
sorted while the table is unchanged, so a page is moto's own loop over the rest of the partition; any write
to the table invalidates it. It also sends each Query answer as the JSON moto already made of it instead of
walking it through the botocore shape model again (about 10 ms a client item read, most of the run's time;
one answer in 25 is serialised both ways and compared). Pages, outcomes and request counts are the same with
and without these shortcuts (`tests/test_reminder_bench.py` runs both and compares).

Run with `python -m bench.reminder_bench [clients ...]` (default 10000 100000). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import json
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SIZES = (10_000, 100_000)
DAYS_BEFORE = 2  # the Bapas setting `reminder_days_before` (default)
READ_AHEAD = 7  # reminders.MAX_DAYS_BEFORE: how far ahead the run reads the due index
MIX = {  # independent draws per client
    "reported": 0.60,  # a counted contact in the current window already
    "switched_off": 0.05,  # a coordinator switched its reminders off
    "guarantor_only": 0.10,  # no mobile number of the client's own: the guarantor's gets the reminder
    "no_mobile": 0.02,  # landlines only (client and guarantor): recorded `no_contact`, nothing sent
}
PROGRESS_EVERY = 20_000
CHECK_EVERY = 25  # moto_fast_index_queries: one Query answer in 25 is also serialised by moto and compared
TIMEZONES = {"jaksel": "Asia/Jakarta", "makassar": "Asia/Makassar"}


def _progress(message: str) -> None:
    print(f"  [reminder bench] {message}", file=sys.stderr, flush=True)


# ----- the population ------------------------------------------------------------------------------

@dataclass
class Member:
    closes_in: int  # days from today's local midnight to the close of the current window
    reported: bool
    switched_off: bool
    recipient: str  # client, guarantor or none


@dataclass
class Population:
    size: int
    today: date
    members: list[Member] = field(default_factory=list)

    def expected(self, day: int, rerun: bool = False) -> Counter[str]:
        """The run's outcomes on `day` (0 today, -1 yesterday), derived from the seed: who is read (window closing
        within READ_AHEAD days), and of those who is switched off, owed nothing, reminded before, or reminded now."""
        out: Counter[str] = Counter()
        for m in self.members:
            closes_in = m.closes_in - day  # days from that day's midnight
            if closes_in > READ_AHEAD:
                continue
            out["read"] += 1
            if m.switched_off:
                out["switched_off"] += 1
            elif closes_in > DAYS_BEFORE or m.reported:  # the contact came before either run (see `seed`)
                out["not_due"] += 1
            elif closes_in < DAYS_BEFORE or rerun:  # reminded (or found without a mobile) by an earlier run
                out["already"] += 1
            else:
                out["sent" if m.recipient != "none" else "no_contact"] += 1
        return out


def seed(size: int, today: date) -> Population:
    from bench.escalation_bench import _client, moto_fast_item_writes, seed_directory
    from chalicelib.adapters.tables import ClientModel

    directory = seed_directory()  # also raises each Bapas's sms_daily_cap to 1,000,000
    rng = random.Random(size)
    population = Population(size, today)
    started = time.perf_counter()
    with moto_fast_item_writes(), ClientModel.batch_write() as batch:
        for i in range(size):
            item = _client("client", i, None, today, *directory)
            tz = ZoneInfo(TIMEZONES[item.bapas_id])
            closes = datetime.fromisoformat(item.due_at).astimezone(tz)
            interval = int(item.checkin_interval_days)
            reported, off = rng.random() < MIX["reported"], rng.random() < MIX["switched_off"]
            draw = rng.random()
            recipient = "none" if draw < MIX["no_mobile"] else \
                "guarantor" if draw < MIX["no_mobile"] + MIX["guarantor_only"] else "client"
            if reported:  # ten hours after the window opened: before yesterday's run for every window closing soon
                at = closes - timedelta(days=interval) + timedelta(hours=10)
                item.contacts = [*item.contacts, f"{at.isoformat()}|counted|checkin#current-{i}"]
            if off:
                item.reminders_enabled = False
            if recipient == "guarantor":
                item.phones = [p for p in item.phones if p["owner"] == "guarantor"]
            elif recipient == "none":
                item.phones = [{"number": f"+62215550{i % 10_000:04d}", "owner": "client"},
                               {"number": f"+62215551{i % 10_000:04d}", "owner": "guarantor", "name": "Keluarga"}]
            batch.save(item)
            population.members.append(Member((closes.date() - today).days, reported, off, recipient))
            if (i + 1) % PROGRESS_EVERY == 0:
                _progress(f"seeded {i + 1:,} of {size:,} clients ({time.perf_counter() - started:.0f} s)")
    return population


# ----- moto: one sorted answer per index partition while the table is unchanged --------------------------

_WRITES = ("put_item", "update_item", "delete_item")
_WRITES_ANY = ("transact_write_items", "execute_statement", "execute_transaction", "batch_execute_statement",
               "create_table", "delete_table", "update_table", "import_table", "restore_table_from_backup",
               "restore_table_to_point_in_time")


@contextlib.contextmanager
def moto_fast_index_queries() -> Iterator[Counter[str]]:
    """moto answers every page of a GSI Query by filtering and sorting the whole table, then walking to the
    page's start key. Here the filtered, sorted partition is kept per (table, index, partition key) and a page
    starts at its start key's position; moto's own loop then builds the page (range condition, limit, 1 MB
    size limit, projection, last evaluated key), so pages are moto's. Any write that may touch a table drops
    what was kept for it (a TransactWriteItems: the tables it names; a PartiQL statement, a table created or
    changed: all). And a Query's answer is sent as the JSON it already is (`serialize_result`). Yields counts."""
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import Table

    stats: Counter[str] = Counter()
    kept: dict[tuple[Any, ...], tuple[list[Any], dict[str, int]]] = {}
    original_query = Table.query
    originals = {name: getattr(DynamoDBBackend, name) for name in _WRITES + _WRITES_ANY}

    def forget(table_name: str | None) -> None:
        for key in [k for k in kept if table_name is None or k[0] == table_name]:
            del kept[key]

    def writer(name: str) -> Any:
        original = originals[name]

        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            names = touched(name, args, kwargs)
            for table_name in names:
                forget(table_name)
            try:
                return original(self, *args, **kwargs)
            finally:
                for table_name in names:
                    forget(table_name)
        return write

    def touched(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str | None]:
        """The tables a write may change; [None] (all) when it cannot be told."""
        if name in _WRITES:
            table_name = kwargs.get("table_name", args[0] if args else None)
            return [table_name] if isinstance(table_name, str) else [None]
        if name == "transact_write_items":
            try:
                items = kwargs.get("transact_items", args[0] if args else None)
                return sorted({op["TableName"] for item in items for op in item.values()})
            except (TypeError, KeyError, AttributeError):
                return [None]
        return [None]

    def query(self: Any, hash_key: Any, range_comparison: Any, range_objs: Any, limit: Any,
              exclusive_start_key: Any, scan_index_forward: bool, projection_expressions: Any,
              index_name: str | None = None, consistent_read: bool = False, filter_expression: Any = None,
              hash_key_conditions: Any = None, range_key_conditions: Any = None, **filter_kwargs: Any) -> Any:
        args = (hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                projection_expressions)
        kwargs = dict(index_name=index_name, consistent_read=consistent_read, filter_expression=filter_expression,
                      hash_key_conditions=hash_key_conditions, range_key_conditions=range_key_conditions,
                      **filter_kwargs)
        index = next((i for i in self.global_indexes if i.name == index_name), None)
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"] if index else []
        if index is None or len(ranges) != 1 or not hash_key_conditions or filter_kwargs or self.range_key_attr \
                or (range_key_conditions and len(range_key_conditions) > 1):
            stats["moto"] += 1
            return original_query(self, *args, **kwargs)
        key = (self.name, index_name, tuple((a, str(v.value)) for a, v in hash_key_conditions), scan_index_forward)
        if key not in kept:
            stats["miss"] += 1
            partition = [item for item in self.all_items() if isinstance(item, Item)
                         and all(item.attrs.get(a) == v for a, v in hash_key_conditions)
                         and item.attrs.get(ranges[0])]
            partition = self.sorted_items([a for a, _ in hash_key_conditions] + [self.hash_key_attr],
                                          [ranges[0], self.range_key_attr], partition)
            if not scan_index_forward:
                partition.reverse()
            kept[key] = (partition, {str(item.hash_key.value): n for n, item in enumerate(partition)})
        else:
            stats["hit"] += 1
        partition, position = kept[key]
        start = 0
        if exclusive_start_key:
            table_key = DynamoType(exclusive_start_key[self.hash_key_attr])
            start = position[str(table_key.value)]  # moto's loop skips this item itself (it is "at" the key)
        rest = partition[start:]
        self.all_items = lambda: rest  # type: ignore[method-assign]
        self.sorted_items = lambda hash_attrs, range_attrs, items: items  # type: ignore[method-assign]
        try:
            return original_query(self, *args, **kwargs)
        finally:
            del self.all_items, self.sorted_items  # back to the class's methods

    def serialize_result(self: Any, resp: Any, result: Any) -> Any:
        """A Query's answer is already DynamoDB's JSON (`DynamoResult`): moto walks it through the botocore shape
        model again, attribute by attribute, which costs more than everything else here (about 10 ms a client
        item). Sent as it is; every CHECK_EVERY-th answer (the first included) is serialised by moto too and the
        two bodies must be the same JSON."""
        operation = self.operation_model
        if operation.name != "Query" or operation.service_model.service_name != "dynamodb" \
                or not isinstance(result, dict):
            return original_serialize(self, resp, result)
        stats["answers"] += 1
        if stats["answers"] % CHECK_EVERY == 1:
            expected = json.loads(original_serialize(self, self._create_default_response(), result)["body"])
            fast = self._serialized_result_to_response(resp, result, operation.output_shape, result)
            assert json.loads(fast["body"]) == expected, "moto's Query answer differs from its JSON"
            stats["checked"] += 1
            return fast
        return self._serialized_result_to_response(resp, result, operation.output_shape, result)

    original_serialize = BaseJSONSerializer._serialize_result
    BaseJSONSerializer._serialize_result = serialize_result  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    for name in originals:
        setattr(DynamoDBBackend, name, writer(name))
    try:
        yield stats
    finally:
        Table.query = original_query  # type: ignore[method-assign]
        BaseJSONSerializer._serialize_result = original_serialize  # type: ignore[method-assign]
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)


# ----- the runs ------------------------------------------------------------------------------------

def measure(as_of: datetime, expected: Counter[str], fast: bool = True) -> dict[str, Any]:
    import app as application
    from bench.escalation_bench import _aws_clients, _by, _others, timed_aws_calls
    from bench.records_bench import RequestCounter, _quiet
    from chalicelib.domain.timeutil import to_rfc3339
    from infra.invoke import _Context, scheduled_event
    from tests.escalation_support import sns_backend
    from tests.support import reset_caches

    reset_caches()  # a cold process: the Bapas settings and the officers are read again
    sms_before = len(sns_backend().sms_messages)
    queries = moto_fast_index_queries() if fast else contextlib.nullcontext(Counter())
    with _quiet(), queries as memo, RequestCounter(_aws_clients()) as counter, timed_aws_calls() as timing:
        started = time.perf_counter()
        summary = application.send_reminders(scheduled_event(to_rfc3339(as_of)), _Context())
        seconds = time.perf_counter() - started
    sms = len(sns_backend().sms_messages) - sms_before
    outcomes = {k: v for k, v in summary.items() if k not in ("as_of", "stopped_early")}
    assert timing.cancelled == 0 and not summary["stopped_early"], summary
    assert outcomes == dict(expected), (outcomes, dict(expected))
    sent = outcomes.get("sent", 0)
    assert sms == sent, (sms, summary)
    dynamodb = _by(counter.counts, "dynamodb")
    assert dynamodb.get("Scan", 0) == 0, dynamodb
    total = sum(counter.counts.values())
    return {"summary": outcomes, "sms": sms, "dynamodb": dynamodb, "other": _others(counter.counts),
            "requests": total, "dynamodb_requests": sum(dynamodb.values()),
            "per_reminded": round(total / sent, 3) if sent else None,
            "dynamodb_per_reminded": round(sum(dynamodb.values()) / sent, 3) if sent else None,
            "per_read": round(total / max(1, outcomes.get("read", 0)), 4), "seconds": round(seconds, 2),
            "memo": dict(memo)}


def run(sizes: tuple[int, ...] = SIZES, fast: bool = True) -> list[dict[str, Any]]:
    from bench.escalation_bench import _midnight
    from tests.escalation_support import today_wib
    from tests.support import InProcess

    results = []
    for size in sizes:
        _progress(f"{size:,} clients: bootstrap and seed")
        started = time.perf_counter()
        with InProcess():
            today = today_wib()
            population = seed(size, today)
            seed_s = time.perf_counter() - started
            as_of = _midnight(today, "Asia/Jakarta") + timedelta(hours=9)  # 09:00 WIB, as scheduled (02:00 UTC)
            _progress(f"{size:,} clients seeded in {seed_s:.0f} s; yesterday's run")
            yesterday = measure(as_of - timedelta(days=1), population.expected(-1), fast)
            _progress(f"{size:,} clients: today's run")
            first = measure(as_of, population.expected(0), fast)
            assert first["summary"]["sent"] > 0, first
            _progress(f"{size:,} clients: re-run")
            again = measure(as_of + timedelta(minutes=5), population.expected(0, rerun=True), fast)
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            closing = sum(1 for m in population.members if m.closes_in <= DAYS_BEFORE)
            results.append({"clients": size, "closing": closing, "yesterday": yesterday, "first": first,
                            "rerun": again, "seed_seconds": round(seed_s, 1), "peak_rss_mb": round(peak_mb)})
            _progress(f"{size:,} clients done; peak RSS {peak_mb:.0f} MB")
    return results


def report(results: list[dict[str, Any]]) -> str:
    shares = ", ".join(f"{k} {v:.0%}" for k, v in MIX.items())
    lines = [f"Reminder benchmark (in-process, moto; reminder_days_before {DAYS_BEFORE}; per client: {shares})", "",
             f"  {'clients':>7} {'closing':>7} {'run':<9} {'read':>6} {'sent':>6} {'already':>7} {'requests':>8} "
             f"{'/sent':>6} {'DynamoDB/sent':>13} {'/read':>6} {'s':>6}  operations"]
    for r in results:
        for name in ("yesterday", "first", "rerun"):
            m = r[name]
            s = m["summary"]
            ops = {**m["dynamodb"], **{f"{svc}.{op}": n for svc, d in m["other"].items() for op, n in d.items()}}
            per = "-" if m["per_reminded"] is None else f"{m['per_reminded']:.3f}"
            dper = "-" if m["dynamodb_per_reminded"] is None else f"{m['dynamodb_per_reminded']:.3f}"
            lines.append(f"  {r['clients']:>7} {r['closing']:>7} {name:<9} {s.get('read', 0):>6} {s.get('sent', 0):>6} "
                         f"{s.get('already', 0):>7} {m['requests']:>8} {per:>6} {dper:>13} {m['per_read']:>6.3f} "
                         f"{m['seconds']:>6.1f}  {ops}")
        lines.append(f"  {'':>7} outcomes today: {r['first']['summary']}; seeded in {r['seed_seconds']:.0f} s, "
                     f"peak RSS {r['peak_rss_mb']} MB")
    lines.append("  (closing: clients whose window closes within reminder_days_before of today's run; /sent: AWS "
                 "requests of every service per reminded client; /read: per client read from the due index)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    from bench.records_bench import run_sizes

    return run_sizes(run, report, SIZES, argv)


if __name__ == "__main__":
    main()
