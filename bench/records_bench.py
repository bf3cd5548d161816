"""Benchmark: `PUT /v1/clients/{id}/checkins/{id}` — AWS requests per call, and our code's overhead.

Two things are measured, in-process under moto (no network, no real AWS):

1. **Requests**: every DynamoDB and S3 request a PUT sends, counted with botocore `before-send` hooks on every
   client the app uses (the PynamoDB model connections, the transaction connection and the S3 client), for a
   check-in without photos, a check-in with two photos and (for reference) a visit with two JPEG photos.
2. **Time per request**: our app (JWT gate, pydantic validation, access check, canonical hash, PynamoDB
   transaction, photo checks and copies, audit, logs and metrics) against a minimal Chalice handler on the
   same tables that sends the same AWS requests (GetItem, HEAD per photo, one TransactWriteItems with the same
   three items, CopyObject per photo) with no logic of ours. Both are called through `chalice.test.Client`,
   interleaved request by request so that table growth and machine noise hit both alike. The ratio
   ours / baseline is our code's overhead (goal <= 1.3, first bar 2.0).

Run with `make bench` (all benchmarks) or `python -m bench.records_bench [iterations]`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

ITERATIONS = 40
WARMUP = 3


# ----- request counting ----------------------------------------------------------------------------

class RequestCounter:
    """Counts requests by `service.Operation` on the given botocore clients (one `before-send` per attempt)."""

    def __init__(self, clients: list[Any]):
        self.clients = list({id(c): c for c in clients}.values())
        self.counts: Counter[str] = Counter()

    def _hook(self, event_name: str = "", **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.counts[f"{service}.{operation}"] += 1

    def __enter__(self) -> RequestCounter:
        for c in self.clients:
            # First in line: moto answers from its own before-send hook, which would end the chain.
            c.meta.events.register_first("before-send.*.*", self._hook, unique_id=f"bench-{id(self)}")
        return self

    def __exit__(self, *exc: Any) -> None:
        for c in self.clients:
            c.meta.events.unregister("before-send.*.*", unique_id=f"bench-{id(self)}")

    def by_service(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for name, n in self.counts.items():
            out[name.split(".")[0]] += n
        return dict(out)


def app_clients() -> list[Any]:
    """Every botocore client our app sends DynamoDB or S3 requests with."""
    from chalicelib.adapters import aws
    from chalicelib.adapters.tables import MODELS
    from chalicelib.services import common

    common.transaction()
    clients = [aws.client("s3"), common._connection.client]
    clients += [model._get_connection().connection.client for model in MODELS]
    return clients


# ----- the minimal handler -------------------------------------------------------------------------

def baseline_app(table_prefix: str, bucket: str) -> Any:
    """A Chalice app that sends the same AWS requests as our PUT check-in, with none of our logic."""
    import boto3
    from chalice import Chalice, Response

    app = Chalice(app_name="baseline", configure_logs=False)
    ddb = boto3.client("dynamodb", region_name=os.environ["AWS_DEFAULT_REGION"])
    s3 = boto3.client("s3", region_name=os.environ["AWS_DEFAULT_REGION"])
    app.aws_clients = [ddb, s3]  # type: ignore[attr-defined]

    @app.route("/base/clients/{client_id}/checkins/{record_id}", methods=["PUT"])
    def put_checkin(client_id: str, record_id: str) -> Response:
        body = json.loads(app.current_request.raw_body)
        ddb.get_item(TableName=f"{table_prefix}-clients", Key={"client_id": {"S": client_id}}, ConsistentRead=True)
        for key in body.get("photos", []):
            s3.head_object(Bucket=bucket, Key=key)
        now = datetime.now(UTC).isoformat()
        record_key = f"checkin#{record_id}"
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": f"{table_prefix}-records", "Item": {
                "client_id": {"S": client_id}, "record_key": {"S": record_key}, "kind": {"S": "checkin"},
                "kind_time": {"S": f"checkin#{body['occurred_at']}#{record_id}"}, "bapas_id": {"S": "jaksel"},
                "body_hash": {"S": "-"}, "data": {"M": {"outcome": {"S": body["outcome"]}}},
                "created_at": {"S": now}, "created_by": {"S": "bench"}, "version": {"N": "1"},
                "response": {"S": raw_body_text(app)}},
                "ConditionExpression": "attribute_not_exists(record_key)"}},
            {"Put": {"TableName": f"{table_prefix}-audit", "Item": {
                "entity": {"S": f"record#{client_id}#{record_key}"}, "at_id": {"S": f"{now}#{uuid.uuid4()}"},
                "action": {"S": "checkin.create"}, "actor": {"S": "bench"}, "role": {"S": "pk"},
                "bapas_id": {"S": "jaksel"}, "request_id": {"S": "-"}}}},
            {"Update": {"TableName": f"{table_prefix}-clients", "Key": {"client_id": {"S": client_id}},
                        "UpdateExpression": "SET contacts = list_append(if_not_exists(contacts, :empty), :fact)",
                        "ConditionExpression": "attribute_exists(client_id)",
                        "ExpressionAttributeValues": {":empty": {"L": []},
                                                      ":fact": {"L": [{"S": f"{now}|counted|{record_key}"}]}}}},
        ])
        for key in body.get("photos", []):
            s3.copy_object(Bucket=bucket, Key="photos/" + key.split("/", 1)[1],
                           CopySource={"Bucket": bucket, "Key": key})
        return Response(body=raw_body_text(app), status_code=201, headers={"Content-Type": "application/json"})

    return app


def raw_body_text(app: Any) -> str:
    return app.current_request.raw_body.decode()


# ----- the run -------------------------------------------------------------------------------------

def _checkin(photos: list[str]) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(minutes=30)).isoformat(timespec="seconds")
    return {"occurred_at": at, "channel": "video_call", "outcome": "completed", "notes": "Lapor diri.",
            "photos": photos}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Our app logs a JSON line and an EMF metrics blob per request (both kept, as in production, so that their
    cost is measured): send them to a sink instead of the report."""
    import logging

    from chalicelib.obs import logger

    sink = io.StringIO()
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.setStream(sink) for h in handlers]
    try:
        with contextlib.redirect_stdout(sink):
            yield
    finally:
        for h, stream in zip(handlers, streams, strict=True):
            h.setStream(stream)


def run(iterations: int = ITERATIONS, warmup: int = WARMUP, env: Any = None) -> dict[str, Any]:
    """Measure; `env` is a running `tests.support.InProcess` to reuse (else a fresh one is made)."""
    from chalice.test import Client

    from chalicelib.config import settings
    from tests.records_support import jpeg, put_photo
    from tests.support import InProcess, client_body, reset_caches

    own = env is None
    with (InProcess() if own else contextlib.nullcontext(env)) as env, _quiet():
        ours_client = env.post("/v1/clients", "kasubsi.jaksel", client_body()).json["id"]
        base_client = env.post("/v1/clients", "kasubsi.jaksel", client_body()).json["id"]
        token = env.token("pk.andi")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        photo = jpeg(-6.3356, 106.82, datetime.now(UTC))
        def fresh_keys() -> list[str]:
            """Two new uploads: an upload is single-use (a second record may not reference it)."""
            keys = [u["key"] for u in env.post("/v1/uploads", "pk.andi", {"client_id": ours_client, "files": [
                {"content_type": "image/jpeg", "size_bytes": len(photo)}] * 2}).json["uploads"]]
            for key in keys:
                put_photo(key, photo)
            return keys

        base_keys = [f"pending/jaksel/{base_client}/{uuid.uuid4()}.jpg" for _ in range(2)]
        for key in base_keys:
            put_photo(key, photo)
        baseline = baseline_app(settings().table_prefix, settings().bucket)
        base_http = Client(baseline).http
        ours_http = env._client.http

        def ours(photos: list[str], kind: str = "checkins", body: dict[str, Any] | None = None) -> int:
            path = f"/v1/clients/{ours_client}/{kind}/{uuid.uuid4()}"
            r = ours_http.request("PUT", path, headers=headers, body=json.dumps(body or _checkin(photos)).encode())
            assert r.status_code == 201, r.body
            return r.status_code

        def base(photos: list[str]) -> int:
            path = f"/base/clients/{base_client}/checkins/{uuid.uuid4()}"
            r = base_http.request("PUT", path, headers={"Content-Type": "application/json"},
                                  body=json.dumps(_checkin(photos)).encode())
            assert r.status_code == 201, r.body
            return r.status_code

        # 1. Requests per PUT (after a warm-up, so that cached lookups are not counted).
        ours([])
        counts: dict[str, dict[str, Any]] = {}
        checkin_keys = fresh_keys()
        visit = {"visited_at": _checkin([])["occurred_at"], "location": {"lat": -6.335, "lon": 106.82,
                                                                          "accuracy_m": 10},
                 "client_present": True, "notes": "Kunjungan rumah.", "photos": fresh_keys()}
        for name, call in (("checkin, no photos", lambda: ours([])),
                           ("checkin, two photos", lambda: ours(checkin_keys)),
                           ("visit, two JPEG photos", lambda: ours([], "visits", visit)),
                           ("baseline checkin, no photos", lambda: base([])),
                           ("baseline checkin, two photos", lambda: base(base_keys))):
            with RequestCounter(app_clients() + baseline.aws_clients) as counter:
                call()
            counts[name] = {"by_operation": dict(sorted(counter.counts.items())), "by_service": counter.by_service()}

        # 2. Time per request, interleaved.
        timings: dict[str, dict[str, list[float]]] = {}
        for label, photos_ours, photos_base in (("no photos", list, []), ("two photos", fresh_keys, base_keys)):
            samples: dict[str, list[float]] = {"ours": [], "baseline": []}
            for i in range(warmup + iterations):
                for side, call, photos in (("ours", ours, photos_ours()), ("baseline", base, photos_base)):
                    started = time.perf_counter()
                    call(photos)
                    elapsed = time.perf_counter() - started
                    if i >= warmup:
                        samples[side].append(elapsed * 1000)
            timings[label] = samples
    if own:
        reset_caches()

    results: dict[str, Any] = {"iterations": iterations, "requests": counts, "timing_ms": {}}
    for label, samples in timings.items():
        ours_med, base_med = statistics.median(samples["ours"]), statistics.median(samples["baseline"])
        results["timing_ms"][label] = {
            "ours_median": round(ours_med, 2), "baseline_median": round(base_med, 2),
            "ours_mean": round(statistics.fmean(samples["ours"]), 2),
            "baseline_mean": round(statistics.fmean(samples["baseline"]), 2),
            "overhead_ms": round(ours_med - base_med, 2), "ratio": round(ours_med / base_med, 2),
        }
    return results


def report(results: dict[str, Any]) -> str:
    lines = [f"PUT check-in benchmark (in-process, moto; {results['iterations']} timed requests per cell)", "",
             "AWS requests per PUT:"]
    for name, c in results["requests"].items():
        ops = ", ".join(f"{op} x{n}" for op, n in c["by_operation"].items())
        lines.append(f"  {name:<30} {c['by_service']}  [{ops}]")
    lines += ["", f"  {'time per request (median ms)':<30} {'ours':>8} {'baseline':>9} {'overhead':>9} {'ratio':>6}"]
    for label, t in results["timing_ms"].items():
        lines.append(f"  {'checkin, ' + label:<30} {t['ours_median']:>8.2f} {t['baseline_median']:>9.2f} "
                     f"{t['overhead_ms']:>9.2f} {t['ratio']:>6.2f}")
    lines.append("  (goal: ratio <= 1.3; first bar 2.0)")
    return "\n".join(lines)


def isolate() -> None:
    """Never real AWS: fake credentials, a fixed region, no endpoint (moto in-process answers every call).
    Called before anything creates a boto3 client or reads the table prefix (the test suite's conftest does
    the same for the smoke test)."""
    from infra.fake_aws import use_fake_aws

    use_fake_aws()
    import moto  # noqa: F401  (before any boto3 client exists)


def run_sizes(run: Any, report: Any, sizes: tuple[int, ...], argv: list[str] | None) -> list[dict[str, Any]]:
    """The `main` of a bench run at table sizes (escalation, reminder): the sizes from the command line or the
    bench's own, moto in-process, the report printed."""
    isolate()
    args = sys.argv[1:] if argv is None else argv
    results = run(tuple(int(a) for a in args) if args else sizes)
    print(report(results))
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    isolate()
    args = sys.argv[1:] if argv is None else argv
    iterations = int(args[0]) if args else ITERATIONS
    results = run(iterations)
    print(report(results))
    return results


if __name__ == "__main__":
    main()
