"""Benchmark: the daily reminder run at 10,000 and 100,000 clients -- AWS requests per reminded client.

In-process under moto, seeded like `bench/escalation_bench.py` (a fresh moto account, the two Bapas and their
staff, N client items written with `ClientModel.batch_write()`, 25 per BatchWriteItem). Every client is in the
middle of its supervision with a counted contact in each closed window; its current window opened 1 to
interval-1 days ago and `due_at` (the due index) is its close. Half of the clients have already reported in the
current window (`REPORTED_SHARE`); one in twenty has reminders switched off; one in ten has no mobile number of
its own (the guarantor's gets the reminder). The Bapas's `sms_daily_cap` is raised above the population so the
cap does not defer reminders in the bench (in production it must be sized for reminders too: docs/operations.md).

The run is the app's scheduled function (`app.send_reminders`, 09:00 WIB), then the same run again (a re-run
sends nothing). Requests are counted by service and operation with the botocore hook of `bench/records_bench.py`
on every client the app uses (DynamoDB models and transactions, SNS, Cognito). Asserted: zero Scans, every
reminder sent once (SMS count), the re-run sends none, and the requests per reminded client.

moto's TransactWriteItems deep-copies every table it touches (its rollback copy): skipped as in the escalation
bench (`timed_aws_calls`), with no cancelled transaction allowed.

Run with `python -m bench.reminder_bench [clients ...]` (default 10000 100000). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from typing import Any

SIZES = (10_000, 100_000)
REPORTED_SHARE = 0.5
PROGRESS_EVERY = 20_000


def _progress(message: str) -> None:
    print(f"  [reminder bench] {message}", file=sys.stderr, flush=True)


def seed(size: int, today: Any) -> None:
    from bench.escalation_bench import _client, moto_fast_item_writes, seed_directory
    from chalicelib.adapters.tables import BapasModel, ClientModel

    for bapas in BapasModel.scan():  # the two seeded Bapas: no cap in the way of the bench's reminders
        bapas.update(actions=[BapasModel.sms_daily_cap.set(size * 2)])
    directory = seed_directory()
    started = time.perf_counter()
    with moto_fast_item_writes(), ClientModel.batch_write() as batch:
        for i in range(size):
            item = _client("client", i, None, today, *directory)
            if i % 2 == 0:  # reported in the current window already (an hour after it opened)
                opens = datetime.fromisoformat(item.due_at) - timedelta(days=int(item.checkin_interval_days))
                item.contacts = [*item.contacts, f"{(opens + timedelta(hours=10)).isoformat()}|counted|checkin#b{i}"]
            if i % 20 == 1:
                item.reminders_enabled = False
            if i % 10 == 3:
                item.phones = [p for p in item.phones if p["owner"] == "guarantor"]
            batch.save(item)
            if (i + 1) % PROGRESS_EVERY == 0:
                _progress(f"seeded {i + 1:,} of {size:,} clients ({time.perf_counter() - started:.0f} s)")


def measure(as_of: datetime) -> dict[str, Any]:
    import app as application
    from bench.escalation_bench import _aws_clients, _by, _others, timed_aws_calls
    from bench.records_bench import RequestCounter, _quiet
    from chalicelib.domain.timeutil import to_rfc3339
    from infra.invoke import _Context, scheduled_event
    from tests.escalation_support import sns_backend
    from tests.support import reset_caches

    reset_caches()  # a cold process
    sms_before = len(sns_backend().sms_messages)
    with _quiet(), RequestCounter(_aws_clients()) as counter, timed_aws_calls() as timing:
        started = time.perf_counter()
        summary = application.send_reminders(scheduled_event(to_rfc3339(as_of)), _Context())
        seconds = time.perf_counter() - started
    sms = len(sns_backend().sms_messages) - sms_before
    assert timing.cancelled == 0 and summary.get("errors", 0) == 0, summary
    assert sms == summary.get("sent", 0), (sms, summary)
    dynamodb = _by(counter.counts, "dynamodb")
    assert dynamodb.get("Scan", 0) == 0, dynamodb
    total = sum(counter.counts.values())
    sent = summary.get("sent", 0)
    return {"summary": summary, "sms": sms, "dynamodb": dynamodb, "other": _others(counter.counts),
            "requests": total, "dynamodb_requests": sum(dynamodb.values()),
            "per_reminded": round(total / sent, 3) if sent else None,
            "dynamodb_per_reminded": round(sum(dynamodb.values()) / sent, 3) if sent else None,
            "per_client_read": round(total / max(1, summary.get("read", 0)), 4), "seconds": round(seconds, 2)}


def run(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    from bench.escalation_bench import _midnight
    from tests.escalation_support import today_wib
    from tests.support import InProcess

    results = []
    for size in sizes:
        _progress(f"{size:,} clients: bootstrap and seed")
        with InProcess():
            today = today_wib()
            seed(size, today)
            as_of = _midnight(today, "Asia/Jakarta") + timedelta(hours=9)  # 09:00 WIB, as scheduled (02:00 UTC)
            _progress(f"{size:,} clients: first run")
            first = measure(as_of)
            assert first["summary"]["sent"] > 0, first
            _progress(f"{size:,} clients: re-run")
            again = measure(as_of + timedelta(minutes=5))
            assert again["summary"].get("sent", 0) == 0 and again["sms"] == 0, again
            results.append({"clients": size, "first": first, "rerun": again})
    return results


def report(results: list[dict[str, Any]]) -> str:
    lines = ["Reminder benchmark (in-process, moto; half the clients already reported in their current window)", "",
             f"  {'clients':>7} {'run':<7} {'read':>6} {'sent':>6} {'requests':>8} {'/sent':>6} {'DynamoDB/sent':>13} "
             f"{'/read':>6} {'s':>6}  operations"]
    for r in results:
        for name in ("first", "rerun"):
            m = r[name]
            ops = {**m["dynamodb"], **{f"{s}.{op}": n for s, d in m["other"].items() for op, n in d.items()}}
            per = "-" if m["per_reminded"] is None else f"{m['per_reminded']:.2f}"
            dper = "-" if m["dynamodb_per_reminded"] is None else f"{m['dynamodb_per_reminded']:.2f}"
            lines.append(f"  {r['clients']:>7} {name:<7} {m['summary'].get('read', 0):>6} "
                         f"{m['summary'].get('sent', 0):>6} {m['requests']:>8} {per:>6} {dper:>13} "
                         f"{m['per_client_read']:>6.3f} {m['seconds']:>6.1f}  {ops}")
    lines.append("  (/sent: AWS requests of every service per reminded client; /read: per client read from the due "
                 "index)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    from bench.records_bench import isolate

    isolate()
    args = sys.argv[1:] if argv is None else argv
    sizes = tuple(int(a) for a in args) if args else SIZES
    results = run(sizes)
    print(report(results))
    return results


if __name__ == "__main__":
    main()
