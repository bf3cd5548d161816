"""The reminder benchmark (`bench/reminder_bench.py`) in a small run: its own assertions (each run's outcomes against
the seeded population, one SMS per reminder, a re-run that sends nothing, zero Scans) hold, and the bench's
shortcut for moto's index queries changes no page: the same requests, operation by operation, with and without."""

from __future__ import annotations

import math


def test_the_reminder_bench_counts_the_same_requests_with_and_without_its_moto_query_shortcut(monkeypatch):
    from bench import reminder_bench

    # One due-index shard, so that 250 clients make several pages of 100 and the shortcut's paging is exercised.
    monkeypatch.setenv("PANTAU_DUE_SHARDS", "1")
    (fast,) = reminder_bench.run((250,), fast=True)
    (moto,) = reminder_bench.run((250,), fast=False)

    for run in ("yesterday", "first", "rerun"):
        assert fast[run]["summary"] == moto[run]["summary"], run
        assert fast[run]["dynamodb"] == moto[run]["dynamodb"], run
        assert fast[run]["other"] == moto[run]["other"], run
        assert fast[run]["dynamodb"].get("Scan", 0) == 0
        assert fast[run]["dynamodb"]["Query"] == math.ceil((fast[run]["summary"]["read"] + 1) / 100), run
        memo = fast[run]["memo"]  # one partition sorted once, its later pages started at their start key
        assert memo["miss"] == 1 and memo["hit"] == fast[run]["dynamodb"]["Query"] - 1 >= 1, (run, memo)
        assert memo["checked"] >= 1 and moto[run]["memo"] == {}, (run, memo)
    first = fast["first"]
    assert first["summary"]["sent"] > 0 and first["summary"]["already"] > 0 and first["summary"]["switched_off"] > 0
    assert first["sms"] == first["summary"]["sent"]
    assert fast["rerun"]["sms"] == 0 and "sent" not in fast["rerun"]["summary"]
    # Per reminded client: the reminder's GetItem, its transaction, the SMS, its `sent` mark, the daily cap.
    per_sent = {"GetItem", "TransactWriteItems", "UpdateItem"}
    assert {op for op in first["dynamodb"] if op != "Query"} == per_sent
    assert first["other"]["sns"] == {"Publish": first["summary"]["sent"]}
    assert "/sent" in reminder_bench.report([fast])
