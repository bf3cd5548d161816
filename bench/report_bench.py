"""Benchmark: `GET /v1/reports/compliance` for a Bapas of 2,000 clients and 40 PKs — DynamoDB requests and time.

In-process under moto (no network, no real AWS). The Bapas is seeded with BatchWriteItem (not transactions):
2,000 client items spread over 40 PKs, each with its compliance facts (`contacts`) and one progress-report
fact, plus 100 open and 100 resolved escalations. The report is then requested through the app
(`chalice.test.Client`, JWT gate included) and its DynamoDB requests are counted with botocore `before-send`
hooks on every client the app uses.

What it shows: the report sends one Query per 1 MB page of the Bapas's client items (moto applies DynamoDB's
1 MB page limit) plus one Query each for the open and the recently resolved escalations — the same count for
1 or 10 contacts per client as long as the items fit the same pages; the count grows only with pages (the
bytes of the Bapas's client items), never with a Scan or a read per record.

Run with `make bench` (all benchmarks) or `python -m bench.report_bench [repeats]`.
"""

from __future__ import annotations

from infra.fake_aws import use_fake_aws

use_fake_aws()

import json
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import moto  # noqa: F401  (before any boto3 client exists)

CLIENTS = 2000
PKS = 40
REPEATS = 2
BAPAS = "jaksel"
NAMESPACE = uuid.UUID("0b6e4f00-5a4e-4d1b-9c1e-2f3a4b5c6d7e")


def _client_item(i: int, contacts: int, today: date) -> Any:
    from chalicelib.adapters.tables import ClientModel
    from chalicelib.domain.progress import fact as progress_fact

    client_id = str(uuid.uuid5(NAMESPACE, f"client-{i}"))
    officer = f"pk.bench{i % PKS:02d}"
    interval = 7 if i % 4 == 0 else 30
    start = today - timedelta(days=20 + i % 300)
    end = start + timedelta(days=180 if interval == 7 else 365)
    facts = []
    for k in range(contacts):  # spread over the supervision so far, mostly completed, some attempts
        at = datetime.combine(start + timedelta(days=1 + k * interval), datetime.min.time(), UTC) + timedelta(hours=3)
        if at.date() >= today:
            at = datetime.combine(today - timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=3, minutes=k)
        kind = "attempt" if (i + k) % 5 == 0 else "counted"
        record = f"{'visit' if k % 3 == 2 else 'checkin'}#{uuid.uuid5(NAMESPACE, f'{i}-{k}')}"
        facts.append(f"{at.isoformat()}|{kind}|{record}")
    submitted = datetime.combine(start + timedelta(days=31), datetime.min.time(), UTC)
    reports = [progress_fact(submitted.isoformat(), start, start + timedelta(days=29), f"progress_report#{client_id}")]
    stamp = datetime.now(UTC).isoformat()
    return ClientModel(
        client_id, bapas_id=BAPAS, officer=officer, officer_key=f"{BAPAS}#{officer}", name=f"Klien Uji {i}",
        program="asimilasi" if interval == 7 else "pembebasan_bersyarat", supervision_start=start.isoformat(),
        supervision_end=end.isoformat(), checkin_interval_days=interval,
        phones=[{"number": f"+62812{i:08d}", "owner": "client"}],
        address={"text": f"Jl. Uji No. {i}", "village_code": "31.74.09.1001", "village_name": "Jagakarsa"},
        village_code="31.74.09.1001", version=1, created_at=stamp, updated_at=stamp, contacts=facts,
        progress_reports=reports if i % 2 == 0 else None,
    )


def seed(clients: int, contacts: int) -> dict[str, Any]:
    """Batch-write the Bapas's clients (overwriting the same ids) and, once, its escalations."""
    from chalicelib.adapters.tables import ClientModel, EscalationModel

    today = date.today()
    size = 0
    with ClientModel.batch_write() as batch:
        for i in range(clients):
            item = _client_item(i, contacts, today)
            size += len(json.dumps(item.serialize()))
            batch.save(item)
    if not EscalationModel.count() and clients:
        with EscalationModel.batch_write() as batch:
            for j in range(200):
                eid = str(uuid.uuid5(NAMESPACE, f"escalation-{j}"))
                cid = str(uuid.uuid5(NAMESPACE, f"client-{j * 7}"))
                opened = (datetime.now(UTC) - timedelta(days=2 + j % 20)).isoformat()
                state = "open" if j % 2 else "resolved"
                officer = f"pk.bench{(j * 7) % PKS:02d}"
                batch.save(EscalationModel(
                    eid, client_id=cid, bapas_id=BAPAS, officer=officer, officer_key=f"{BAPAS}#{officer}",
                    village_code="31.74.09.1001", reason="three_missed", episode_started_at=opened, opened_at=opened,
                    consecutive_missed=3, state=state, state_opened=f"{state}#{opened}#{eid}", version=1,
                    resolved_at=(datetime.now(UTC) - timedelta(days=1)).isoformat() if state == "resolved" else None,
                    resolution="ditemukan" if state == "resolved" else None))
    return {"clients": clients, "contacts_per_client": contacts, "client_bytes": size}


class EmulatorClock:
    """Time spent inside moto answering requests (its in-process stub), to tell it apart from our code's time."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> EmulatorClock:
        from moto.core.botocore_stubber import BotocoreStubber

        self._original = BotocoreStubber.__call__
        clock = self

        def timed(stub: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return clock._original(stub, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - started

        BotocoreStubber.__call__ = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        BotocoreStubber.__call__ = self._original  # type: ignore[method-assign]


def measure(env: Any, repeats: int) -> dict[str, Any]:
    from bench.records_bench import RequestCounter, _quiet, app_clients

    headers = {"Authorization": f"Bearer {env.token('kasubsi.jaksel')}"}
    http = env._client.http
    http.request("GET", "/v1/me", headers=headers)  # warm the JWKS cache
    totals, ours, counts, body = [], [], None, None
    for _ in range(repeats):
        with RequestCounter(app_clients()) as counter, EmulatorClock() as emulator, _quiet():
            started = time.perf_counter()
            r = http.request("GET", "/v1/reports/compliance", headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
        assert r.status_code == 200, r.body
        totals.append(elapsed)
        ours.append(elapsed - emulator.seconds * 1000)
        counts = dict(sorted(counter.counts.items()))
        body = json.loads(r.body)
    assert body is not None and body["totals"]["clients"] > 0
    return {"requests": counts, "median_ms": round(statistics.median(totals), 1),
            "ours_ms": round(statistics.median(ours), 1), "officers": len(body["officers"]),
            "report_clients": body["totals"]["clients"], "open_escalations": body["totals"]["open_escalations"]}


SCENARIOS = ((CLIENTS // 4, 1), (CLIENTS // 4, 10), (CLIENTS, 1), (CLIENTS, 10), (CLIENTS, 40))


def run(repeats: int = REPEATS) -> list[dict[str, Any]]:
    from tests.support import InProcess, reset_caches

    results = []
    with InProcess() as env:
        for clients, contacts in SCENARIOS:
            # Start each scenario from an empty clients table (fewer clients must not leave the others behind).
            from chalicelib.adapters.tables import ClientModel

            with ClientModel.batch_write() as batch:
                for item in ClientModel.bapas_index.query(BAPAS, attributes_to_get=["client_id"]):
                    batch.delete(ClientModel(item.client_id))
            info = seed(clients, contacts)
            results.append({**info, **measure(env, repeats)})
    reset_caches()
    return results


def report(results: list[dict[str, Any]]) -> str:
    lines = ["Compliance report benchmark (in-process, moto; 40 PKs, 100 open + 100 resolved escalations)", "",
             f"  {'clients':>7} {'contacts/client':>15} {'client items MB':>15} {'DynamoDB requests':<18} "
             f"{'total ms':>9} {'ours ms':>8}"]
    for r in results:
        ops = ", ".join(f"{op.split('.', 1)[1]} x{n}" for op, n in r["requests"].items())
        lines.append(f"  {r['clients']:>7} {r['contacts_per_client']:>15} {r['client_bytes'] / 1e6:>15.2f} "
                     f"{ops:<18} {r['median_ms']:>9.1f} {r['ours_ms']:>8.1f}")
    lines += ["  requests: one Query per 1 MB page of client items + one for open + one for resolved escalations",
              "  total: the whole request in-process, moto included; ours: total minus the time moto spends answering"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = sys.argv[1:] if argv is None else argv
    results = run(int(args[0]) if args else REPEATS)
    print(report(results))
    return results


if __name__ == "__main__":
    main()
