"""Benchmark: the daily escalation at 10,000 and 100,000 clients (1 % due) — DynamoDB requests and time per due client.

In-process under moto (no network, no real AWS). For each size a fresh moto account is bootstrapped
(`infra.bootstrap.bootstrap`), the two Bapas and their staff are created (`infra.seed`), every village the clients
live in gets its Bhabinkamtibmas contact, and N client items are written with `ClientModel.batch_write()` (25 per
BatchWriteItem; not transactions). 1 % of the clients have `due_at` in the past (their window closed at local
midnight), the others later in their current window.

The whole scheduled path then runs as `make invoke fn=escalate_unreachable` runs it: the app's scheduled function
(`app.escalate_unreachable`: Query the `due-index` shards, evaluate, SendMessageBatch, move `due_at`), then the
escalation queue drained into the app's worker (`app.escalation_worker`) in batches of 10 by `infra.invoke.drain`,
the local emulation of Lambda's SQS event source mapping. Requests are counted by operation, separately for the
run and for the worker, with a botocore `before-send` hook (registered first, so it sees each request before moto
answers it; once per attempt, so retries would show) on every client the app uses: the PynamoDB connection of
each model, the transaction connection, SQS, SNS and Cognito.

Two mixes of due clients: the realistic one (`MIX`) and a worst case where every due client is newly unreachable
(`WORST`; the realistic due clients are deleted and replaced, so the table still holds N clients). Asserted: zero
Scans, the run's summary and the worker's results match the seeded mix, and DynamoDB requests per due client
<= 4 in the realistic mix at both sizes. Caches (Bapas time zones, officers from Cognito) are cleared before each
run, so every run counts a cold process.

One moto artefact is removed: moto answers TransactWriteItems by deep-copying every table the transaction
touches (its rollback copy), which at 100,000 clients costs seconds per escalation and is not what DynamoDB
does. The bench skips that copy and checks that no transaction was cancelled (so no rollback was needed).

During seeding only, moto's item-size check is skipped too (it re-sums every attribute for each one it stores).

Run with `make bench` (all benchmarks) or `python -m bench.escalation_bench [clients ...]` (default 10000 100000:
about 16 minutes and 1.2 GB peak on the 2-vCPU dev VM, mostly seeding and moto's index queries; 1000 is a
20-second smoke run). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import random
import resource
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SIZES = (10_000, 100_000)
DUE_SHARE = 0.01  # clients whose due_at has passed when the run starts
# What the due clients are on an ordinary day (shares of the due clients):
MIX = {
    "kept_contact": 0.80,  # a counted contact in every window: simply moves on to the next window
    "missed": 0.08,  # missed the last one or two windows: moves on (state `missed`), nothing sent
    "unreachable": 0.10,  # a third window in a row missed at midnight: a new episode, escalated
    "already_escalated": 0.01,  # unreachable since last week, its escalation open: moves on, nothing sent
    "ended": 0.01,  # supervision ended yesterday: leaves the due index
}
WORST = {"unreachable": 1.0}  # every due client newly unreachable
BUDGET = 2  # DynamoDB requests per due client in the realistic mix (issue 11)
GRACE_DAYS = 2  # the default grace_hours (48)
PROGRESS_EVERY = 20_000
NAMESPACE = uuid.UUID("3d0c7a52-8f0e-4b8e-a5f4-6a1e2c9d7b31")
TIMEZONES = {"jaksel": "Asia/Jakarta", "makassar": "Asia/Makassar"}  # infra/seed.py BAPAS
MONTHLY = ("pembebasan_bersyarat", "cuti_bersyarat", "cuti_menjelang_bebas")


def _progress(message: str) -> None:
    print(f"  [escalation bench] {message}", file=sys.stderr, flush=True)


def _midnight(day: date, tz: str) -> datetime:
    """Local midnight at the start of `day`, in UTC (where windows open and close)."""
    return datetime.combine(day, datetime.min.time(), ZoneInfo(tz)).astimezone(UTC)


def _client_id(label: str, i: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{label}-{i}"))


# ----- the population ------------------------------------------------------------------------------

def _kinds(due: int, mix: dict[str, float], seed: int) -> list[str]:
    """`due` kinds in the mix's shares (rounded; the first kind takes the remainder), shuffled."""
    counts = {k: round(share * due) for k, share in mix.items()}
    counts[next(iter(mix))] += due - sum(counts.values())
    kinds = [k for k, n in counts.items() for _ in range(n)]
    random.Random(seed).shuffle(kinds)
    return kinds


def _facts(i: int, start: date, interval: int, tz: str, windows: int, counted: int) -> list[str]:
    """Compliance facts: a counted check-in in each of the first `counted` windows, a `no_answer` in some others."""
    facts = []
    for w in range(windows):
        day = start + timedelta(days=w * interval + (i + w) % interval)
        at = (_midnight(day, tz) + timedelta(hours=10)).isoformat()
        if w < counted:
            facts.append(f"{at}|counted|checkin#{uuid.uuid5(NAMESPACE, f'{i}-{w}')}")
        elif (i + w) % 2:
            facts.append(f"{at}|attempt|checkin#{uuid.uuid5(NAMESPACE, f'{i}-{w}')}")
    return facts


def _client(label: str, i: int, kind: str | None, today: date, villages: dict[str, tuple[str, ...]],
            pks: dict[str, list[str]]) -> Any:
    """Client `i`: due (its last window closed at today's local midnight) as `kind`, or not due (`kind` None)."""
    from chalicelib.adapters.tables import ClientModel
    from chalicelib.domain.timeutil import to_rfc3339
    from chalicelib.services.clients import due_shard
    from chalicelib.services.escalation import escalation_id_for

    client_id = _client_id(label, i)
    bapas = ("jaksel", "makassar")[i % 2]
    tz = TIMEZONES[bapas]
    officer = pks[bapas][(i // 2) % len(pks[bapas])]
    village = villages[bapas][(i // 4) % len(villages[bapas])]
    weekly = i % 10 < 7  # asimilasi reports weekly, the integration programs monthly
    interval = 7 if weekly else 30
    closed = 5 + i % 12  # windows closed before today
    open_escalation = None
    if kind is None:
        opened = 1 + i % (interval - 1)  # the current window opened this many days ago
        start = today - timedelta(days=interval * closed + opened)
        end = start + timedelta(days=interval * (closed + 6 + i % 20) - 1)
        facts = _facts(i, start, interval, tz, closed, closed)
        due_at = _midnight(start + timedelta(days=interval * (closed + 1)), tz)
    else:
        # Version 1.1: an episode is escalated once its grace period (48 hours) is over, so the due clients' last
        # window closed GRACE_DAYS ago; the realistic ones became due then and were moved on by the hourly runs,
        # and the unreachable ones are due now, at the end of their grace period.
        closed_on = today - timedelta(days=GRACE_DAYS)
        start = closed_on - timedelta(days=interval * closed)
        end = closed_on - timedelta(days=1) if kind == "ended" else \
            start + timedelta(days=interval * (closed + 6 + i % 20) - 1)
        missed = {"kept_contact": 0, "ended": 0, "missed": 1 + i % 2, "unreachable": 3, "already_escalated": 4}[kind]
        facts = _facts(i, start, interval, tz, closed, closed - missed)
        due_at = _midnight(today, tz)
        if kind == "already_escalated":  # its third missed window closed a window ago; last week's run escalated it
            open_escalation = escalation_id_for(client_id, _midnight(closed_on - timedelta(days=interval), tz))
    stamp = to_rfc3339(datetime.now(UTC))
    return ClientModel(
        client_id, bapas_id=bapas, officer=officer, officer_key=f"{bapas}#{officer}", name=f"Klien Uji {i}",
        program="asimilasi" if weekly else MONTHLY[i % 3], supervision_start=start.isoformat(),
        supervision_end=end.isoformat(), end_month=end.isoformat()[:7], checkin_interval_days=interval,
        phones=[{"number": f"+62812{i:08d}", "owner": "client"},
                {"number": f"+62813{i:08d}", "owner": "guarantor", "name": "Keluarga"}],
        address={"text": f"Jl. Melati No. {i % 200 + 1}, RT 0{i % 9 + 1}/RW 0{i % 7 + 1}", "village_code": village,
                 "village_name": _village_name(village)},
        village_code=village, offence="Pasal 362 KUHP" if i % 3 == 0 else None, version=1, created_at=stamp,
        updated_at=stamp, contacts=facts, due_shard=due_shard(client_id), due_at=to_rfc3339(due_at),
        open_escalation_id=open_escalation,
    )


def _village_name(code: str) -> str:
    from chalicelib.domain.villages import lookup_village

    return lookup_village(code).name


def seed_directory() -> tuple[dict[str, tuple[str, ...]], dict[str, list[str]]]:
    """The Bhabinkamtibmas of every village the clients live in (infra/seed.py's villages), and each Bapas's PKs."""
    from chalicelib.adapters.tables import VillageContactModel
    from infra.seed import USERS, VILLAGES

    stamp = datetime.now(UTC).isoformat()
    for bapas, codes in VILLAGES.items():
        for j, code in enumerate(codes):
            VillageContactModel(bapas, code, village_name=_village_name(code), version=1, updated_at=stamp,
                                updated_by="bench", bhabinkamtibmas={
                                    "name": f"Bripka Uji {bapas.title()} {j + 1}", "phone": f"+628127700{j:04d}",
                                    "polsek": f"Polsek {bapas.title()}"}).save()
    from chalicelib.adapters.tables import BapasModel

    for bapas in VILLAGES:  # the worst case sends far more than a day's cap: measured here is the requests' cost
        BapasModel(bapas).update(actions=[BapasModel.sms_daily_cap.set(1_000_000)])
    pks = {b: [u.username for u in USERS if u.bapas_id == b and u.role == "pk"] for b in VILLAGES}
    return dict(VILLAGES), pks


@dataclass
class Population:
    size: int
    today: date
    due: list[int]  # indices of the due clients
    kinds: dict[int, str]  # index -> kind, for the due ones
    label: str = "client"
    directory: tuple[dict[str, tuple[str, ...]], dict[str, list[str]]] = field(default_factory=lambda: ({}, {}))

    def expected(self) -> Counter[str]:
        return Counter(self.kinds.values())


def seed(size: int, today: date) -> Population:
    """Batch-write `size` clients, DUE_SHARE of them due in the realistic mix."""
    from chalicelib.adapters.tables import ClientModel

    directory = seed_directory()
    rng = random.Random(size)
    due = sorted(rng.sample(range(size), round(size * DUE_SHARE)))
    population = Population(size, today, due, dict(zip(due, _kinds(len(due), MIX, size), strict=True)),
                             directory=directory)
    started = time.perf_counter()
    with moto_fast_item_writes(), ClientModel.batch_write() as batch:  # a BatchWriteItem every 25 items
        for i in range(size):
            batch.save(_client("client", i, population.kinds.get(i), today, *directory))
            if (i + 1) % PROGRESS_EVERY == 0:
                _progress(f"seeded {i + 1:,} of {size:,} clients ({time.perf_counter() - started:.0f} s)")
    return population


def replace_due(population: Population, mix: dict[str, float]) -> Population:
    """Delete the due clients and write as many new ones (same slots, new ids) in `mix`: still `size` clients."""
    from chalicelib.adapters.tables import ClientModel

    label = "worst" if population.label == "client" else population.label + "+"
    kinds = dict(zip(population.due, _kinds(len(population.due), mix, population.size + 1), strict=True))
    with moto_fast_item_writes(), ClientModel.batch_write() as batch:
        for i in population.due:
            batch.delete(ClientModel(_client_id(population.label, i)))
        for i in population.due:
            batch.save(_client(label, i, kinds[i], population.today, *population.directory))
    return Population(population.size, population.today, population.due, kinds, label, population.directory)


# ----- moto: time in its DynamoDB backend, and no table copy per transaction ----------------------------

@contextlib.contextmanager
def moto_fast_item_writes() -> Iterator[None]:
    """While seeding only: moto re-sums the size of every attribute of an item for each attribute it stores (its
    400 KB check), which makes seeding quadratic in the attributes; the bench's items are about 2 KB."""
    from moto.dynamodb.models import dynamo_type

    original = dynamo_type.LimitedSizeDict.__setitem__
    dynamo_type.LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        dynamo_type.LimitedSizeDict.__setitem__ = original  # type: ignore[method-assign]


@dataclass
class Timing:
    calls: Counter[str] = field(default_factory=Counter)  # seconds inside botocore calls, by service.operation
    cancelled: int = 0  # transactions moto refused (none expected: see `moto_transactions`)

    def aws_seconds(self, service: str | None = None) -> float:
        return sum(v for k, v in self.calls.items() if service is None or k.split(".", 1)[0] == service)


@contextlib.contextmanager
def timed_aws_calls() -> Iterator[Timing]:
    """Time every AWS call (botocore `_make_api_call`: request serialisation, moto's answer, response parsing)
    and let moto's TransactWriteItems skip its rollback copy of the tables.

    moto deep-copies every table a transaction touches before applying it, to restore them if it is cancelled:
    O(table size) per transaction, an artefact of the mock. Without the copy a cancelled transaction would not be
    rolled back, so cancellations are counted and the bench fails if there is any.
    """
    import copy
    import types

    from botocore.client import BaseClient
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    timing = Timing()
    original_call = BaseClient._make_api_call
    original_transact = models.DynamoDBBackend.transact_write_items
    original_copy = models.copy

    def call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return original_call(self, operation_name, api_params)
        finally:
            timing.calls[f"{self.meta.service_model.service_name}.{operation_name}"] += time.perf_counter() - started

    def transact(*args: Any, **kwargs: Any) -> Any:
        try:
            return original_transact(*args, **kwargs)
        except Exception:
            timing.cancelled += 1
            raise

    BaseClient._make_api_call = call  # type: ignore[method-assign]
    models.DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
    models.copy = types.SimpleNamespace(  # type: ignore[assignment]
        deepcopy=lambda x, memo=None: x if isinstance(x, Table) else copy.deepcopy(x, memo))
    try:
        yield timing
    finally:
        BaseClient._make_api_call = original_call  # type: ignore[method-assign]
        models.DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]
        models.copy = original_copy


# ----- the run -------------------------------------------------------------------------------------

def _aws_clients() -> list[Any]:
    from bench.records_bench import app_clients
    from chalicelib.adapters import aws

    return app_clients() + [aws.client(s) for s in ("sqs", "sns", "cognito-idp")]


def _by(counts: Counter[str], service: str) -> dict[str, int]:
    return {k.split(".", 1)[1]: v for k, v in sorted(counts.items()) if k.split(".", 1)[0] == service}


def _others(counts: Counter[str]) -> dict[str, dict[str, int]]:
    """Requests to services other than DynamoDB (SQS, SNS, Cognito), by service and operation."""
    services = sorted({k.split(".", 1)[0] for k in counts} - {"dynamodb"})
    return {s: _by(counts, s) for s in services}


def _phase(counter: Any, timing: Timing, seconds: float) -> dict[str, Any]:
    return {"dynamodb": _by(counter.counts, "dynamodb"), "other": _others(counter.counts),
            "seconds": round(seconds, 3), "aws_seconds": round(timing.aws_seconds(), 3),
            "dynamodb_seconds": {k.split(".", 1)[1]: round(v, 3) for k, v in sorted(timing.calls.items())
                                 if k.startswith("dynamodb.")}}


def measure(env: Any, population: Population, mix_name: str) -> dict[str, Any]:
    """Run the scheduled function, drain the queue into the worker; count, time and check against the mix."""
    import app as application
    from bench.records_bench import RequestCounter, _quiet
    from chalicelib.domain.timeutil import to_rfc3339
    from infra.invoke import _Context, drain, scheduled_event
    from tests.escalation_support import sns_backend
    from tests.support import reset_caches

    # 10:00 WIB: daytime in every zone, so the SMS outside the Bapas go at once (at night they would be deferred).
    as_of = _midnight(population.today, "Asia/Jakarta") + timedelta(hours=10)
    expected = population.expected()
    due = len(population.due)
    reset_caches()  # a cold process: Bapas time zones and officers are read again
    sms_before = len(sns_backend().sms_messages)
    with _quiet():
        with RequestCounter(_aws_clients()) as run_counter, timed_aws_calls() as run_timing:
            started = time.perf_counter()
            summary = application.escalate_unreachable(scheduled_event(to_rfc3339(as_of)), _Context())
            run_s = time.perf_counter() - started
        with RequestCounter(_aws_clients()) as worker_counter, timed_aws_calls() as worker_timing:
            started = time.perf_counter()
            drained = drain(env.resources.escalation_queue_url, application.escalation_worker)
            worker_s = time.perf_counter() - started
    sms = len(sns_backend().sms_messages) - sms_before

    escalated = expected["unreachable"]
    assert summary["due"] == due and summary["errors"] == 0 and not summary["stopped_early"], summary
    assert summary["enqueued"] == escalated and summary["enqueue_failed"] == 0, summary
    assert summary["already_escalated"] == expected["already_escalated"], summary
    assert summary["ended"] == expected["ended"] and summary["moved"] == due - expected["ended"], summary
    assert summary["moved_by_other"] == 0, summary
    assert drained.get("messages", 0) == escalated and drained.get("failed", 0) == 0, drained
    assert "invocation_errors" not in drained, drained
    assert run_timing.cancelled == 0 and worker_timing.cancelled == 0
    assert sms == 2 * escalated, sms  # the Bhabinkamtibmas and the PK, once each (no village office on record)
    run, worker = _phase(run_counter, run_timing, run_s), _phase(worker_counter, worker_timing, worker_s)
    assert run["dynamodb"].get("Scan", 0) == 0 and worker["dynamodb"].get("Scan", 0) == 0, (run, worker)
    assert worker["dynamodb"].get("TransactWriteItems", 0) == escalated, worker
    total = sum(run["dynamodb"].values()) + sum(worker["dynamodb"].values())
    ours_s = run_s + worker_s - run["aws_seconds"] - worker["aws_seconds"]
    return {
        "clients": population.size, "mix": mix_name, "due": due, "escalated": escalated, "summary": summary,
        "run": run, "worker": {**worker, "batches": drained.get("batches", 0)},
        "dynamodb_total": total, "dynamodb_per_due": round(total / due, 3),
        "worker_dynamodb_per_escalation": round(sum(worker["dynamodb"].values()) / escalated, 3) if escalated
        else None,
        "ms_per_due": round((run_s + worker_s) * 1000 / due, 2),
        "ours_ms_per_due": round(ours_s * 1000 / due, 2),
        "query_ms_per_due": round(run["dynamodb_seconds"].get("Query", 0) * 1000 / due, 2),
        "other_aws_ms_per_due": round((run["aws_seconds"] + worker["aws_seconds"]
                                       - run["dynamodb_seconds"].get("Query", 0)) * 1000 / due, 2),
    }


def run(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    from tests.escalation_support import today_wib
    from tests.support import InProcess

    results = []
    for size in sizes:
        _progress(f"{size:,} clients: bootstrap and seed")
        started = time.perf_counter()
        with InProcess() as env:
            population = seed(size, today_wib())
            seed_s = time.perf_counter() - started
            _progress(f"{size:,} clients seeded in {seed_s:.0f} s; realistic mix")
            realistic = measure(env, population, "realistic")
            # The run's fixed cost (one Query per due-index and deferred-index shard) is spread over the due clients:
            # the budget holds from 10,000 clients (100 due a day); a 1,000-client smoke run is above it.
            assert size < 10_000 or realistic["dynamodb_per_due"] <= BUDGET, realistic
            _progress(f"{size:,} clients: worst case")
            worst = measure(env, replace_due(population, WORST), "worst case")
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            _progress(f"{size:,} clients done; peak RSS {peak_mb:.0f} MB")
            for r in (realistic, worst):
                r.update(seed_seconds=round(seed_s, 1), peak_rss_mb=round(peak_mb))
            results += [realistic, worst]
    return results


def report(results: list[dict[str, Any]]) -> str:
    shares = ", ".join(f"{k} {v:.0%}" for k, v in MIX.items())
    lines = [f"Escalation benchmark (in-process, moto; {DUE_SHARE:.0%} of the clients due; realistic mix: {shares})",
             "", f"  {'clients':>7} {'mix':<10} {'due':>5} {'escal.':>6} {'DynamoDB run':<34} "
             f"{'DynamoDB worker':<52} {'/due':>5} {'ms/due':>7} {'Query':>6} {'AWS':>6} {'ours':>6} {'run s':>6} "
             f"{'wkr s':>6}"]
    for r in results:
        run_ops = ", ".join(f"{op} {n}" for op, n in r["run"]["dynamodb"].items())
        worker_ops = ", ".join(f"{op} {n}" for op, n in r["worker"]["dynamodb"].items())
        lines.append(f"  {r['clients']:>7} {r['mix']:<10} {r['due']:>5} {r['escalated']:>6} {run_ops:<34} "
                     f"{worker_ops:<52} {r['dynamodb_per_due']:>5.2f} {r['ms_per_due']:>7.1f} "
                     f"{r['query_ms_per_due']:>6.1f} {r['other_aws_ms_per_due']:>6.1f} {r['ours_ms_per_due']:>6.1f} "
                     f"{r['run']['seconds']:>6.1f} {r['worker']['seconds']:>6.1f}")
    lines += ["  (/due: DynamoDB requests per due client; ms/due: run + worker wall time per due client, of which",
              "   Query: the due-index Queries, which moto answers by reading the whole table; AWS: every other call",
              "   to moto; ours: outside any AWS call -- rules, PynamoDB (de)serialisation, logs, metrics)", "",
              "  seeding and other requests:"]
    for r in results[::2]:
        lines.append(f"  {r['clients']:>7} clients seeded in {r['seed_seconds']:.0f} s (bootstrap included); "
                     f"peak RSS {r['peak_rss_mb']} MB")
    for r in results:
        lines.append(f"  {r['clients']:>7} {r['mix']:<10} run {r['run']['other']}")
        lines.append(f"  {'':>7} {'':<10} worker {r['worker']['other']}")
    lines.append(f"  (budget: DynamoDB requests per due client <= {BUDGET} in the realistic mix; zero Scans)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    from bench.records_bench import run_sizes

    return run_sizes(run, report, SIZES, argv)


if __name__ == "__main__":
    main()
