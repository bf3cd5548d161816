"""What a user meets on a new Lambda instance: the cold import, then the first authenticated `GET /v1/me` and the
first `PUT` check-in, against a bare Chalice handler making the same AWS requests.

    python -m bench.coldstart_bench [runs] [--write] [--zip=build/prod/deployment.zip]

A moto server on a loopback port plays AWS (tables, user pool and its JWKS, bucket, queue), bootstrapped and
seeded like `make run`; a PK's ID token comes from its Cognito, a client is registered through the app. Then,
`runs` times and alternating so machine noise hits both alike, two fresh Lambda-like interpreters
(`python -S`, the unzipped prod package and what the Lambda runtime provides on `sys.path`, the prod stage's
environment, as in `bench/package_bench.py`) each:

1. import the handler module (`app`);
2. handle an API Gateway event for `GET /v1/me` with the PK's token;
3. handle an API Gateway event for `PUT /v1/clients/{id}/checkins/{new uuid}`.

"ours" is the package's `app`. "bare" is `BARE_APP` below: a Chalice app with the same two routes that makes the
same AWS requests and nothing else (the JWKS GET, and for the PUT the client and Bapas GetItems and one
TransactWriteItems with the same three items): no token verification, no validation, no logs. Each interpreter
records the AWS operations it sent (botocore's `_make_api_call`, wrapped once both handlers are imported) and the
bench fails unless both sent the same. Medians of wall and CPU time are reported, and the zip size.

Without SnapStart this is what the first request of a new instance costs; with SnapStart (the API function in
AWS) step 1 and the model building of steps 2-3 happen before the snapshot instead (`chalicelib/snapstart.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.docs import DOC, markers, write_section

ROOT = Path(__file__).resolve().parent.parent
START, END = markers("coldstart_bench")

BARE_APP = '''
"""The bare handler: the same routes and AWS requests as Pantau's first GET /v1/me and PUT check-in, nothing else."""
import json
import os
import uuid
from datetime import datetime, timezone

import boto3
import requests
from chalice import Chalice

app = Chalice(app_name="bare")
_jwks = {}
_ddb = []
PREFIX = os.environ["PANTAU_TABLE_PREFIX"]


def ddb():
    if not _ddb:
        _ddb.append(boto3.client("dynamodb"))
    return _ddb[0]


def jwks():
    if not _jwks:
        base = os.environ["AWS_ENDPOINT_URL"]
        url = f"{base}/{os.environ['PANTAU_USER_POOL_ID']}/.well-known/jwks.json"
        _jwks.update(requests.get(url, timeout=5).json())
    return _jwks


@app.route("/v1/me")
def me():
    jwks()
    return {"username": "pk.andi"}


@app.route("/v1/clients/{client_id}/checkins/{record_id}", methods=["PUT"])
def put_checkin(client_id, record_id):
    jwks()
    body = app.current_request.json_body
    ddb().get_item(TableName=f"{PREFIX}-clients", Key={"client_id": {"S": client_id}})
    ddb().get_item(TableName=f"{PREFIX}-bapas", Key={"bapas_id": {"S": "jaksel"}})
    now = datetime.now(timezone.utc).isoformat()
    key = f"checkin#{record_id}"
    ddb().transact_write_items(TransactItems=[
        {"Put": {"TableName": f"{PREFIX}-records", "ConditionExpression": "attribute_not_exists(client_id)",
                 "Item": {"client_id": {"S": client_id}, "record_key": {"S": key}, "kind": {"S": "checkin"},
                          "kind_time": {"S": "checkin#" + body["occurred_at"] + "#" + record_id},
                          "bapas_id": {"S": "jaksel"}, "body_hash": {"S": "-"}, "data": {"M": {}},
                          "created_at": {"S": now}, "created_by": {"S": "pk.andi"}, "version": {"N": "1"}}}},
        {"Put": {"TableName": f"{PREFIX}-audit",
                 "Item": {"entity": {"S": "client#" + client_id}, "at_id": {"S": now + "#" + str(uuid.uuid4())},
                          "action": {"S": "checkin.create"}, "actor": {"S": "pk.andi"}, "role": {"S": "pk"},
                          "bapas_id": {"S": "jaksel"}, "request_id": {"S": "-"}}}},
        {"Update": {"TableName": f"{PREFIX}-clients", "Key": {"client_id": {"S": client_id}},
                    "UpdateExpression": "SET contacts = list_append(if_not_exists(contacts, :empty), :fact)",
                    "ExpressionAttributeValues": {":empty": {"L": []},
                                                  ":fact": {"L": [{"S": now + "|counted|" + key}]}}}},
    ])
    return {"id": record_id}
'''

CHILD = '''
import json, os, sys, time
cfg = json.loads(os.environ["BENCH_CFG"])
sys.path[:0] = cfg["paths"]
t0, c0 = time.perf_counter(), time.process_time()
import app
t1, c1 = time.perf_counter(), time.process_time()
import botocore.client
calls = []
_call = botocore.client.BaseClient._make_api_call
def counted(self, operation, params):
    calls.append(self.meta.service_model.service_name + ":" + operation)
    return _call(self, operation, params)
botocore.client.BaseClient._make_api_call = counted

class Context:
    function_name = "pantau-prod-api_handler"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:pantau-prod-api_handler"
    aws_request_id = "coldstart-bench"
    @staticmethod
    def get_remaining_time_in_millis():
        return 29000

def event(method, resource, path, params, body):
    return {"resource": resource, "path": path, "httpMethod": method,
            "headers": {"authorization": "Bearer " + cfg["token"], "content-type": "application/json"},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": params, "stageVariables": None, "isBase64Encoded": False,
            "body": json.dumps(body) if body is not None else None,
            "requestContext": {"resourcePath": resource, "httpMethod": method, "path": "/api" + path,
                               "requestId": "bench-" + method, "identity": {"sourceIp": "127.0.0.1"}}}

me = app.app(event("GET", "/v1/me", "/v1/me", None, None), Context())
t2, c2 = time.perf_counter(), time.process_time()
resource = "/v1/clients/{client_id}/checkins/{record_id}"
path = "/v1/clients/%s/checkins/%s" % (cfg["client_id"], cfg["record_id"])
put = app.app(event("PUT", resource, path, {"client_id": cfg["client_id"], "record_id": cfg["record_id"]},
                    cfg["checkin"]), Context())
t3, c3 = time.perf_counter(), time.process_time()
print(json.dumps({"import": [t1 - t0, c1 - c0], "me": [t2 - t1, c2 - c1], "put": [t3 - t2, c3 - c2],
                  "status": [me["statusCode"], put["statusCode"]], "calls": calls}))
'''


def _stack(work: Path) -> tuple[Any, dict[str, str], list[Any]]:
    """A moto server with Pantau's resources, users and Bapas: (resources, environment, processes)."""
    from infra.fake_aws import use_fake_aws
    from infra.local import base_env, free_port, wait_http

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    use_fake_aws(endpoint)
    env = {**os.environ, **base_env(endpoint)}
    os.environ.update(base_env(endpoint))
    log = open(work / "moto.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    wait_http(f"{endpoint}/moto-api/", proc=proc)
    from chalicelib import config
    from chalicelib.services.common import reset_connections
    from infra import bootstrap, seed

    config.reset()
    reset_connections()
    resources = bootstrap.bootstrap("ap-southeast-3")
    seed.create_bapas()
    seed.create_users("ap-southeast-3", resources.user_pool_id)
    os.environ.update(resources.env())
    config.reset()
    return resources, {**base_env(endpoint), **resources.env()}, [proc, log]


def _register_client(resources: Any) -> str:
    """One client of pk.andi, registered through the app (in this process, against the moto server)."""
    from chalice.test import Client

    import app as application
    from infra.seed import login
    from tests.support import client_body

    token = login("ap-southeast-3", resources.user_pool_client_id, "kasubsi.jaksel")
    start = date.today() - timedelta(days=10)
    body = client_body("pk.andi", supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=365)).isoformat())
    with Client(application.app) as client:
        r = client.http.post("/v1/clients", body=json.dumps(body),
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    if r.status_code != 201:
        raise RuntimeError(f"registering the bench's client failed: {r.status_code} {r.body[:300]!r}")
    return json.loads(r.body)["id"]


def _child(paths: list[str], env: dict[str, str], cwd: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-S", "-c", CHILD], cwd=cwd, capture_output=True, text=True,
                         env={**env, "BENCH_CFG": json.dumps({**cfg, "paths": paths})}, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["status"] not in ([200, 201], [200, 200]):
        raise RuntimeError(f"unexpected answers {result['status']}: {out.stdout[-2000:]}")
    return result


def run(runs: int = 7, zip_path: Path | None = None) -> dict[str, Any]:
    from infra.package import lambda_env, runtime_dir

    work = Path(tempfile.mkdtemp(prefix="pantau-coldstart-bench-"))
    saved = dict(os.environ)
    procs: list[Any] = []
    try:
        if zip_path is None:
            from infra.package import package

            zip_path = package("prod", work / "build")["zip"]
        task = work / "task"
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(task)
        runtime = runtime_dir(work / "runtime")
        bare = work / "bare"
        bare.mkdir()
        (bare / "app.py").write_text(BARE_APP)
        resources, stack_env, procs = _stack(work)
        client_id = _register_client(resources)
        from infra.seed import login

        token = login("ap-southeast-3", resources.user_pool_client_id, "pk.andi")
        env = {**lambda_env(task), **stack_env,
               **{k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}}
        env["PANTAU_TABLE_PREFIX"] = os.environ["PANTAU_TABLE_PREFIX"]  # the tables bootstrap made
        when = datetime.now(ZoneInfo("Asia/Jakarta")).replace(microsecond=0) - timedelta(hours=1)
        results: dict[str, list[dict[str, Any]]] = {"ours": [], "bare": []}
        for i in range(runs + 1):  # the first round warms the page cache and is not counted
            for name, paths, cwd in (("ours", [str(task), str(runtime)], task),
                                     ("bare", [str(bare), str(task), str(runtime)], bare)):
                cfg = {"token": token, "client_id": client_id, "record_id": str(uuid.uuid4()),
                       "checkin": {"occurred_at": (when - timedelta(minutes=i)).isoformat(), "channel": "phone",
                                   "outcome": "completed"}}
                result = _child(paths, env, cwd, cfg)
                if i:
                    results[name].append(result)
        ours_calls, bare_calls = results["ours"][0]["calls"], results["bare"][0]["calls"]
        if sorted(ours_calls) != sorted(bare_calls):
            raise RuntimeError(f"the bare handler does not send what ours sends: {ours_calls} != {bare_calls}")

        def median(name: str, step: str, index: int) -> float:
            return statistics.median(r[step][index] for r in results[name]) * 1000

        rows = {}
        for name in ("ours", "bare"):
            rows[name] = {f"{step}_{kind}": round(median(name, step, i), 1)
                          for step in ("import", "me", "put") for i, kind in ((0, "ms"), (1, "cpu"))}
            rows[name]["first_ms"] = round(sum(rows[name][f"{s}_ms"] for s in ("import", "me", "put")), 1)
            rows[name]["first_cpu"] = round(sum(rows[name][f"{s}_cpu"] for s in ("import", "me", "put")), 1)
        ratio = {k: round(rows["ours"][k] / rows["bare"][k], 2) for k in ("import_ms", "import_cpu", "first_ms",
                                                                        "first_cpu")}
        return {"runs": runs, "zip_bytes": zip_path.stat().st_size, "rows": rows, "ratio": ratio,
                "calls": ours_calls, "load": round(os.getloadavg()[0], 1)}
    finally:
        for p in procs:
            if hasattr(p, "terminate"):
                p.terminate()
                p.wait(timeout=10)
            else:
                p.close()
        os.environ.clear()
        os.environ.update(saved)
        from chalicelib import config
        from chalicelib.services.common import reset_connections

        config.reset()  # this process's settings and clients pointed at the bench's moto server
        reset_connections()
        shutil.rmtree(work, ignore_errors=True)


def markdown(r: dict[str, Any]) -> str:
    o, b, q = r["rows"]["ours"], r["rows"]["bare"], r["ratio"]
    calls = ", ".join(f"{c.split(':')[1]}" for c in r["calls"])
    mib = r["zip_bytes"] / 1024 / 1024
    steps = (("cold import", "import"), ("first `GET /v1/me` (JWKS fetch, RS256)", "me"),
             ("first `PUT` check-in", "put"), ("**all three**", "first"))
    table = "\n".join(f"| {label} | {o[k + '_ms']:.0f} ms | {o[k + '_cpu']:.0f} ms | {b[k + '_ms']:.0f} ms | "
                      f"{b[k + '_cpu']:.0f} ms |" for label, k in steps)
    return f"""{START}
## What a user meets on a new instance: cold import + first requests (`bench/coldstart_bench.py`)

`python -m bench.coldstart_bench [runs] [--write]`: the prod package in a fresh Lambda-like interpreter per run
(as above), against a moto server playing AWS: `import app`, then the first authenticated `GET /v1/me` and the
first `PUT` check-in, each an API Gateway event handed to the handler. Side by side in the same run, alternating:
a bare Chalice handler with the same two routes sending the same AWS requests ({calls}, and the JWKS GET) with
no verification, validation or logging. {r["runs"]} runs of each; medians; load average {r['load']}.

| step | ours: wall | ours: CPU | bare: wall | bare: CPU |
|---|---|---|---|---|
{table}

| ratio ours / bare | wall | CPU |
|---|---|---|
| cold import | **{q['import_ms']:.2f}** | **{q['import_cpu']:.2f}** |
| cold import + first `GET /v1/me` + first `PUT` | **{q['first_ms']:.2f}** | **{q['first_cpu']:.2f}** |

Zip: **{mib:.1f} MiB** (goal ≤ 8 MiB). Goals for the cold import ratio: ≤ 2.0, aim 1.3. The CPU column is the
steadier one on a shared VM; a 512 MB Lambda has about a third of a vCPU, so in AWS multiply by about three.
With SnapStart on the API function, the import and the work the before-snapshot hook does (model building,
first-use imports) happen when the version is published, not on a user's request. pydantic, the schema modules
and PyJWT are not part of the cold import (`chalicelib/schemas/refs.py`): the first `GET /v1/me` loads PyJWT,
the first `PUT` pydantic and the check-in's schema. That work moved to the first requests rather than vanished,
which the second ratio shows; a scheduled function or the SQS worker never does it at all.
{END}
"""


def write(section: str) -> None:
    write_section("coldstart_bench", section, after="package_bench")


def main(argv: list[str]) -> int:
    runs = int(next((a for a in argv if a.isdigit()), "7"))
    zip_arg = next((a.split("=", 1)[1] for a in argv if a.startswith("--zip=")), None)
    result = run(runs, Path(zip_arg) if zip_arg else None)
    section = markdown(result)
    print(section)
    if "--write" in argv:
        write(section)
        print(f"updated {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

