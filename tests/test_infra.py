"""Deployability: the template against the models and the local bootstrap, packaging + cfn-lint, least privilege.

- The tables in `infra/template.yaml` are the PynamoDB models' (and the bootstrap's, in moto); a table, index,
  key or TTL changed on one side only is caught (proved here by mutating copies of both sides).
- `chalice package --merge-template` + `cfn-lint` on the merged template, clean (`infra/package.py`).
- Every AWS call the key flows make, attributed to the Lambda function that makes it, is allowed by that
  function's policy; every statement of every policy is used by them; removing a permission or adding an
  unpermitted call fails. `make test` also records the whole in-process suite (`-p tests.iam_plugin`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.adapters.tables import MODELS, PREFIX, NotificationModel, TaskModel
from infra import iam
from infra import template as tpl
from tests import iam_tools
from tests.escalation_support import sms_to
from tests.iam_tools import Call, allowed, recording, violations
from tests.reach_support import delivery_event, failure
from tests.support import client_body

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("dev", "prod")
WIB = ZoneInfo("Asia/Jakarta")
VILLAGE = "31.74.09.1001"


def committed_template() -> dict[str, Any]:
    return tpl.load(tpl.TEMPLATE.read_text())


# ===== the template against the models ==================================================================

def test_the_committed_template_is_what_the_code_generates():
    assert tpl.TEMPLATE.read_text() == tpl.dump(tpl.build()), "run `python -m infra.template`"


def test_every_model_has_its_table_and_nothing_else():
    template = committed_template()
    assert tpl.drift(template, MODELS) == []
    tables = {r["Properties"]["TableName"]["Fn::Sub"]: r for r in template["Resources"].values()
              if r.get("Type") == "AWS::DynamoDB::Table"}
    assert sorted(tables) == sorted("${Prefix}-" + tpl.table_suffix(m) for m in MODELS)
    for name, table in tables.items():
        p = table["Properties"]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name
        assert p["BillingMode"] == "PAY_PER_REQUEST", name
        assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert p["DeletionProtectionEnabled"] is True and p["SSESpecification"] == {"SSEEnabled": True}, name
        assert p["KeySchema"][0]["KeyType"] == "HASH"
    # The names the code computes: <PANTAU_TABLE_PREFIX>-<name>, for the prefix the package pins.
    assert {m.Meta.table_name for m in MODELS} == {n.replace("${Prefix}", PREFIX) for n in tables}


def _mutated_models() -> dict[str, tuple[Any, ...]]:
    """Copies of MODELS with one table changed each way a schema can drift."""

    class ExtraIndex(GlobalSecondaryIndex):
        class Meta:
            index_name = "kind-index"
            projection = AllProjection()

        kind = UnicodeAttribute(hash_key=True)

    class TasksWithExtraIndex(TaskModel):
        class Meta:
            table_name = TaskModel.Meta.table_name
            region = TaskModel.Meta.region

        kind_index = ExtraIndex()

    class TasksWithRangeKey(Model):
        class Meta:
            table_name = TaskModel.Meta.table_name
            region = TaskModel.Meta.region

        task_id = UnicodeAttribute(hash_key=True)
        due_date = UnicodeAttribute(range_key=True)

    class TasksThatExpire(TaskModel):
        class Meta:
            table_name = TaskModel.Meta.table_name
            region = TaskModel.Meta.region

        expires_at = TTLAttribute(null=True)

    class Brand(Model):
        class Meta:
            table_name = f"{PREFIX}-brand-new"
            region = TaskModel.Meta.region

        brand_id = UnicodeAttribute(hash_key=True)

    def swap(new: Any) -> tuple[Any, ...]:
        return tuple(new if m is TaskModel else m for m in MODELS)

    return {"gsi": swap(TasksWithExtraIndex), "keys": swap(TasksWithRangeKey), "ttl": swap(TasksThatExpire),
            "in the models, not in the template": (*MODELS, Brand)}


def test_a_table_index_key_or_ttl_changed_on_one_side_only_is_caught():
    template = committed_template()
    # The models change, the template does not.
    for expected, models in _mutated_models().items():
        problems = tpl.drift(template, models)
        assert problems and any(expected in p for p in problems), (expected, problems)
    # A model with a TTL attribute gets TimeToLiveSpecification.
    ttl_tables = tpl.table_resources(_mutated_models()["ttl"])
    assert ttl_tables["TasksTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at", "Enabled": True}

    # The template changes, the models do not.
    def edited(change: Any) -> dict[str, Any]:
        t = copy.deepcopy(template)
        change(t["Resources"])
        return t

    def drop_gsi(r: dict[str, Any]) -> None:
        r["ClientsTable"]["Properties"]["GlobalSecondaryIndexes"].pop()

    def rename_gsi(r: dict[str, Any]) -> None:
        r["EscalationsTable"]["Properties"]["GlobalSecondaryIndexes"][0]["IndexName"] = "bapas-index"

    def change_lsi_key(r: dict[str, Any]) -> None:
        r["RecordsTable"]["Properties"]["LocalSecondaryIndexes"][0]["KeySchema"][1]["AttributeName"] = "created_at"

    def change_range_key(r: dict[str, Any]) -> None:
        r["AuditTable"]["Properties"]["KeySchema"][1]["AttributeName"] = "at"

    def change_type(r: dict[str, Any]) -> None:
        r["BapasTable"]["Properties"]["AttributeDefinitions"][0]["AttributeType"] = "N"

    def drop_table(r: dict[str, Any]) -> None:
        del r["NotificationsTable"]

    def extra_table(r: dict[str, Any]) -> None:
        r["SpareTable"] = copy.deepcopy(r["BapasTable"])
        r["SpareTable"]["Properties"]["TableName"] = {"Fn::Sub": "${Prefix}-spare"}

    for change, expected in ((drop_gsi, "clients: gsi"), (rename_gsi, "escalations: gsi"),
                             (change_lsi_key, "records: lsi"), (change_range_key, "audit: keys"),
                             (change_type, "bapas: attributes"), (drop_table, "notifications: in the models"),
                             (extra_table, "spare: in the template")):
        problems = tpl.drift(edited(change), MODELS)
        assert problems and any(expected in p for p in problems), (change.__name__, problems)


def _described(table: dict[str, Any], ttl: dict[str, Any] | None = None) -> dict[str, Any]:
    """DescribeTable's (and DescribeTimeToLive's) answer in the template's shape."""
    props = {"TableName": table["TableName"], "AttributeDefinitions": table["AttributeDefinitions"],
             "KeySchema": table["KeySchema"]}
    if ttl and ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        props["TimeToLiveSpecification"] = {"AttributeName": ttl["AttributeName"], "Enabled": True}
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if table.get(kind):
            props[kind] = [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
                           for i in table[kind]]
    return tpl.describe(props)


def test_the_local_bootstrap_creates_what_the_template_declares(aws):
    """The stack `make run` and the tests use (moto) against the template: tables, bucket, queue, user pool."""
    from chalicelib.adapters.aws import client

    template = committed_template()
    r = template["Resources"]
    ddb = client("dynamodb")
    live = {}
    for name in ddb.list_tables()["TableNames"]:
        d = _described(ddb.describe_table(TableName=name)["Table"],
                       ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"])
        live[d["name"]] = d
    assert live == tpl.tables_in(template)

    s3 = client("s3")
    bucket = aws.resources.bucket
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    ours = {rule["Id"]: rule for rule in r["PhotoBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert {rule["ID"] for rule in rules} == set(ours)
    for rule in rules:
        mine = ours[rule["ID"]]
        assert rule["Filter"].get("Prefix", "") == mine["Prefix"]
        assert rule.get("Expiration", {}).get("Days") == mine.get("ExpirationInDays")
        assert rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == \
            mine.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == r["PhotoBucket"]["Properties"]["PublicAccessBlockConfiguration"]

    sqs = client("sqs")
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=aws.resources.escalation_queue_url,
                                                  AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == r["EscalationQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    assert redrive["deadLetterTargetArn"].endswith(f"{PREFIX}-escalations-dlq")

    idp = client("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=aws.resources.user_pool_id)["UserPool"]
    want = r["UserPool"]["Properties"]
    password = {k: v for k, v in pool["Policies"]["PasswordPolicy"].items() if k in want["Policies"]["PasswordPolicy"]}
    assert password == {k: v for k, v in want["Policies"]["PasswordPolicy"].items() if k in password}
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == want["MfaConfiguration"] == "OPTIONAL"
    custom = {a["Name"] for a in pool["SchemaAttributes"] if a["Name"].startswith("custom:")}
    assert custom == {"custom:" + a["Name"] for a in want["Schema"]} == {"custom:bapas_id"}
    groups = {g["GroupName"] for g in idp.list_groups(UserPoolId=aws.resources.user_pool_id)["Groups"]}
    assert groups == {g for g, _ in tpl.GROUPS} == {r[k]["Properties"]["GroupName"] for k in r
                                                   if r[k].get("Type") == "AWS::Cognito::UserPoolGroup"}
    app_client = idp.describe_user_pool_client(UserPoolId=aws.resources.user_pool_id,
                                               ClientId=aws.resources.user_pool_client_id)["UserPoolClient"]
    assert sorted(app_client["ExplicitAuthFlows"]) == sorted(r["UserPoolClient"]["Properties"]["ExplicitAuthFlows"])


def test_the_rest_of_the_template_meets_the_issue():
    r = committed_template()["Resources"]
    bucket = r["PhotoBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    pending = [x for x in bucket["LifecycleConfiguration"]["Rules"] if x["Prefix"] == "pending/"]
    assert pending and pending[0]["ExpirationInDays"] == 2
    assert any("NoncurrentVersionExpiration" in x for x in bucket["LifecycleConfiguration"]["Rules"] if not x["Prefix"])
    [tls] = r["PhotoBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    assert r["EscalationQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    dlq_alarm = r["EscalationDeadLetterAlarm"]["Properties"]
    assert dlq_alarm["Dimensions"] == [{"Name": "QueueName",
                                        "Value": {"Fn::GetAtt": ["EscalationDeadLetterQueue", "QueueName"]}}]
    assert r["ApiServerErrorsAlarm"]["Properties"]["MetricName"] == "5XXError"
    run = r["EscalationRunFailedAlarm"]["Properties"]
    assert (run["MetricName"], run["Dimensions"]) == ("Errors", [{"Name": "FunctionName",
                                                                 "Value": {"Ref": "EscalateUnreachable"}}])
    for alarm in (x for x in r.values() if x.get("Type") == "AWS::CloudWatch::Alarm"):
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]

    pool = r["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert pool["MfaConfiguration"] == "OPTIONAL" and pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert {g["Properties"]["GroupName"] for g in r.values() if g.get("Type") == "AWS::Cognito::UserPoolGroup"} == {
        "pk", "coordinator", "admin"}
    flows = r["UserPoolClient"]["Properties"]["ExplicitAuthFlows"]
    assert set(flows) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}


def test_every_setting_the_code_reads_is_given_to_every_function():
    source = (ROOT / "chalicelib" / "config.py").read_text()
    read = set(re.findall(r"_env\(\"(PANTAU_[A-Z_]+)\"", source))
    assert read, "chalicelib/config.py reads no PANTAU_* variable?"
    assert read - tpl.TUNABLES == set(tpl.ENVIRONMENT) | tpl.SENDER_SETTINGS, \
        "map every new PANTAU_* setting in infra/template.py"
    r = committed_template()["Resources"]
    for fn in tpl.app_functions():
        variables = r[fn["cfn"]]["Properties"]["Environment"]["Variables"]
        if fn["name"] == "api_handler":  # API Gateway invokes it: it may not refer to the API (a cycle)
            assert variables == tpl.ENVIRONMENT
        else:  # the functions that send SMS know where reply links point: the stack's PublicUrl output
            assert variables == {**tpl.ENVIRONMENT, "PANTAU_PUBLIC_URL": tpl.public_url()}, fn["name"]
    assert committed_template()["Outputs"]["PublicUrl"]["Value"] == tpl.public_url()


# ===== packaging: chalice package --merge-template + cfn-lint ================================================

@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    from infra.package import package

    return package("prod", tmp_path_factory.mktemp("package") / "prod")


def test_package_merges_the_template_and_cfn_lint_is_clean(packaged):
    sam = packaged["template"]
    lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(lint), "--", str(sam)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    merged = tpl.load(sam.read_text())
    r = merged["Resources"]
    assert merged["Parameters"]["Prefix"]["AllowedValues"] == ["pantau-prod"]
    assert set(tpl.table_resources()) <= set(r)
    for fn in tpl.app_functions():
        props = r[fn["cfn"]]["Properties"]
        assert r[fn["cfn"]]["Type"] == "AWS::Serverless::Function", fn  # Chalice made it, the merge added to it
        assert props["FunctionName"] == {"Fn::Sub": "${Prefix}-" + fn["name"]}
        assert props["Environment"]["Variables"]["PANTAU_BUCKET"] == {"Ref": "PhotoBucket"}
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "pantau"  # Chalice's kept
        policy = r[fn["role"]]["Properties"]["Policies"][0]["PolicyDocument"]
        assert policy == iam.load_policy("prod", fn["name"])
        if fn["sqs_queue"]:
            event = props["Events"][fn["cfn"] + "SqsEventSource"]
            assert event["Type"] == "SQS"
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            assert event["Properties"]["Queue"] == {"Fn::Sub": "${EscalationQueue.Arn}"}
    assert r["ApiHandlerLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${Prefix}-api_handler"}


def test_the_api_function_runs_python_3_12_with_snapstart_and_api_gateway_invokes_its_alias(packaged):
    from infra.package import alias_logical_id

    r = tpl.load(packaged["template"].read_text())["Resources"]
    runtimes = {r[fn["cfn"]]["Properties"]["Runtime"] for fn in tpl.app_functions()}
    # Chalice takes the runtime from the Python it runs on: the venv's, which `make` builds from 3.12 (SnapStart
    # for Python needs 3.12 or later); the bytecode in the zip is that version's too.
    assert runtimes == {"python{}.{}".format(*sys.version_info[:2])} and sys.version_info[:2] >= (3, 12), runtimes
    api = r["APIHandler"]["Properties"]
    assert api["SnapStart"] == {"ApplyOn": "PublishedVersions"} and api["AutoPublishAlias"] == tpl.SNAPSTART_ALIAS
    assert [fn["cfn"] for fn in tpl.app_functions() if "SnapStart" in r[fn["cfn"]]["Properties"]] == ["APIHandler"]
    alias = alias_logical_id()
    uris = [op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            for methods in r["RestAPI"]["Properties"]["DefinitionBody"]["paths"].values()
            for op in methods.values() if isinstance(op, dict) and "x-amazon-apigateway-integration" in op]
    assert len(uris) >= 20
    assert all(u.endswith("${" + alias + "}/invocations") for u in uris), [u for u in uris if alias not in u]
    assert r["APIHandlerInvokePermission"]["Properties"]["FunctionName"] == {"Ref": alias}


def test_the_zip_is_small_and_the_cold_import_leaves_first_use_modules_alone(packaged, tmp_path):
    from chalicelib import snapstart
    from infra.package import UNUSED, lambda_python

    assert packaged["zip_bytes"] <= 8 * 1024 * 1024  # issue 16: at most 8 MiB
    with zipfile.ZipFile(packaged["zip"]) as z:
        names = z.namelist()
        z.extractall(tmp_path / "task")
    tops = {n.split("/", 1)[0] for n in names}
    # No cryptography (chalicelib/rs256.py verifies RS256), no phone-number geocoder or carrier data.
    assert not tops & {"cryptography", "cffi", "_cffi_backend.cpython-312-x86_64-linux-gnu.so", "pycparser"}, tops
    assert not [n for n in names if n.startswith(("phonenumbers/geodata/", "phonenumbers/carrierdata/",
                                                  "phonenumbers/tzdata/"))]
    assert not [n for n in names if n.startswith(UNUSED)]
    # The app never asks Powertools for what UNUSED leaves out (only Logger(log_event=True) would).
    source = "\n".join(f.read_text() for f in (ROOT / "chalicelib").rglob("*.py"))
    assert "event_handler" not in source and "log_event" not in source
    code = ("import json, sys, app; from chalicelib import snapstart; import snapshot_restore_py as hooks; "
            "assert snapstart.after_restore in [f for f, _, _ in hooks.get_after_restore()]; "
            "before = [m for m in snapstart.FIRST_USE_MODULES + ('aws_xray_sdk',) if m in sys.modules]; "
            "[f(*a, **k) for f, a, k in reversed(hooks.get_before_snapshot())]; "
            "print(json.dumps([before, [m for m in snapstart.FIRST_USE_MODULES if m not in sys.modules]]))")
    result = lambda_python(tmp_path / "task", code, stage="prod")
    assert result.returncode == 0, result.stderr[-3000:]
    loaded_at_import, missing_after_hook = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded_at_import == [] and missing_after_hook == [], (loaded_at_import, missing_after_hook)
    assert snapstart.FIRST_USE_MODULES  # phone numbers, requests, EXIF, villages, the SQS batch utilities


def test_the_zip_imports_the_way_lambda_imports_it(packaged, tmp_path):
    from infra.package import duplicates, lambda_python

    zip_path = packaged["zip"]
    assert duplicates(zip_path) == []
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "task")
    tops = {n.split("/", 1)[0] for n in names}
    assert {"app.py", "chalicelib", "chalice", "pynamodb", "aws_lambda_powertools", "aws_xray_sdk"} <= tops
    assert not {t for t in tops if t.split("-")[0] in ("boto3", "botocore", "s3transfer", "jmespath")}
    tag = sys.implementation.cache_tag
    assert f"__pycache__/app.{tag}.pyc" in names and f"chalicelib/__pycache__/http.{tag}.pyc" in names
    # A fresh interpreter with only the package and the runtime's boto3: every handler is importable, in both
    # stages' environments (prod turns the Powertools tracer on), without writing any bytecode.
    for stage in STAGES:
        code = ("import app, sys; assert callable(app.app) and all(callable(getattr(app, f)) for f in "
                f"{[fn['name'] for fn in tpl.app_functions() if fn['name'] != 'api_handler']!r}); "
                "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
        result = lambda_python(tmp_path / "task", code, stage=stage)
        assert result.returncode == 0, result.stderr[-3000:]
    assert not list((tmp_path / "task").rglob(f"__pycache__/*.{sys.implementation.cache_tag}.opt-*.pyc"))


def test_the_cold_start_bench_runs_both_handlers_with_the_same_aws_requests(packaged):
    """One round of bench/coldstart_bench.py: the bench itself checks both handlers answered and sent the same
    AWS requests (it raises otherwise)."""
    from bench import coldstart_bench

    result = coldstart_bench.run(1, packaged["zip"])
    assert sorted(result["calls"]) == ["dynamodb:GetItem", "dynamodb:GetItem", "dynamodb:TransactWriteItems"]
    assert result["zip_bytes"] == packaged["zip_bytes"]
    assert all(result["rows"][name]["first_ms"] > 0 for name in ("ours", "bare"))


# ===== least privilege ===================================================================================

def test_the_policy_files_are_generated_and_wired_into_the_config():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    functions = [fn["name"] for fn in tpl.app_functions()]
    assert sorted(functions) == sorted(iam.functions()), "every Lambda function needs its entry in infra/iam.SPEC"
    for stage in STAGES:
        for fn in functions:
            configured = config["stages"][stage]["lambda_functions"][fn]["iam_policy_file"]
            assert configured == iam.policy_file(stage, fn).name
            assert iam.load_policy(stage, fn) == iam.render(stage, fn), "run `python -m infra.iam`"


def test_no_wildcard_outside_the_documented_exceptions():
    for stage in STAGES:
        prefix = iam.stage_prefixes()[stage]
        for fn in iam.functions():
            for s in iam.load_policy(stage, fn)["Statement"]:
                assert s["Effect"] == "Allow" and "NotAction" not in s and "NotResource" not in s
                actions = iam_tools._list(s["Action"])
                assert all("*" not in a for a in actions), (fn, s)
                for resource in iam_tools._list(s["Resource"]):
                    if resource == "*":
                        for a in actions:
                            assert (fn, a) in iam.WILDCARD_EXCEPTIONS or ("*", a) in iam.WILDCARD_EXCEPTIONS, (fn, s)
                        continue
                    assert resource.startswith("arn:aws:"), resource
                    if resource == iam.USER_POOL.format(r=iam.REGION, a=iam.ACCOUNT):
                        continue  # the pool id is unknown to a policy file: narrowed by CognitoPoolScope below
                    assert prefix in resource, (fn, resource)
                    if not resource.startswith("arn:aws:s3:::"):
                        assert f":{iam.REGION}:" in resource, (fn, resource)
    # The one regional pattern (any user pool) is narrowed to the stack's pool by an explicit Deny.
    scope = committed_template()["Resources"]["CognitoPoolScope"]["Properties"]
    assert scope["PolicyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert {r["Ref"] for r in scope["Roles"]} == {"ApiHandlerRole", "EscalationWorkerRole", "SendRemindersRole"}


def _at_wib(day: date, hour: int = 1) -> datetime:
    return datetime.combine(day, time(hour), WIB)


def _sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                         "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": "",
                         "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": iam.REGION}
                        for m in messages]}


class _Context:
    function_name = "pantau-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:pantau-test"
    aws_request_id = "infra-test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def _key_flows(api: Any) -> list[Call]:
    """The API, the daily run and the worker, each with cold caches (each is its own process in AWS)."""
    import app as application
    from chalicelib.adapters import aws
    from chalicelib.adapters.directory import DIRECTORY
    from chalicelib.config import settings
    from chalicelib.services.common import BAPAS

    def cold() -> None:
        DIRECTORY.clear()
        BAPAS.clear()

    users = ("kasubsi.jaksel", "pk.andi", "kasubsi.makassar")
    for user in users:
        api.token(user)  # logging in is the app's business, not a function's
    today = datetime.now(WIB).date()
    start = today - timedelta(days=42)
    with recording() as rec:
        cold()
        r = api.put(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel", {"bhabinkamtibmas": {
            "name": "Bripka Joko Susilo", "phone": "0812-7700-1000", "polsek": "Polsek Jagakarsa"}})
        assert r.status in (200, 201), r
        assert api.get(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel").status == 200
        r = api.put("/v1/areas/31.74.09/contacts", "kasubsi.jaksel", {"polsek": {"name": "Ipda Rahmat",
                                                                                 "phone": "0812-5550-1000"}})
        assert r.status in (200, 201), r
        assert api.get("/v1/areas/31.74.09/contacts", "kasubsi.jaksel").status == 200
        body = client_body("pk.andi", supervision_start=start.isoformat(), tracking_from=start.isoformat(),
                           supervision_end=(start + timedelta(days=180)).isoformat())
        body["address"]["village_code"] = VILLAGE
        r = api.post("/v1/clients", "kasubsi.jaksel", body)
        assert r.status == 201, r
        cid = r.json["id"]
        for days in (1, 8):
            r = api.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi", {
                "occurred_at": _at_wib(start + timedelta(days=days), 10).isoformat(), "channel": "phone",
                "outcome": "completed"})
            assert r.status == 201, r
        # A photo: presigned POST, the upload itself (by the phone, not a function), the record that keeps it.
        r = api.post("/v1/uploads", "pk.andi", {"client_id": cid, "files": [
            {"content_type": "image/jpeg", "size_bytes": 4}]})
        assert r.status == 200, r
        key = r.json["uploads"][0]["key"]
        aws.client("s3").put_object(Bucket=settings().bucket, Key=key, Body=b"\xff\xd8\xff\xd9",
                                    ContentType="image/jpeg")
        visit = {"visited_at": _at_wib(start + timedelta(days=9), 11).isoformat(),
                 "location": {"lat": -6.3346, "lon": 106.82, "accuracy_m": 12}, "client_present": True,
                 "met": [{"role": "family", "name": "Ibu Klien"}], "notes": "Ada di rumah.", "photos": [key]}
        record_id = str(uuid.uuid4())
        r = api.put(f"/v1/clients/{cid}/visits/{record_id}", "pk.andi", visit)
        assert r.status == 201, r
        cold()
        r = api.put(f"/v1/clients/{cid}/visits/{record_id}", "pk.andi", visit)  # a replay: reads, no write
        assert r.status in (200, 201), r
        for path in (f"/v1/clients/{cid}/checkins", f"/v1/clients/{cid}/visits", "/v1/clients?limit=5"):
            assert api.get(path, "kasubsi.jaksel").status == 200, path
        assert api.get("/v1/clients", "pk.andi").status == 200
        r = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel")
        assert r.status == 200, r
        r = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"notes": "Pindah kerja."},
                      headers={"If-Match": r.headers["etag"]})
        assert r.status == 200, r

        cold()
        result = application.escalate_unreachable(_scheduled(_at_wib(today, 10)), _Context())  # daytime: sent
        assert result["enqueued"] == 1, result

        cold()
        sqs = aws.client("sqs")  # the event source mapping's polling is checked separately (implicit_calls)
        url = settings().escalation_queue_url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        response = application.escalation_worker(_sqs_event(messages, arn), _Context())
        assert response == {"batchItemFailures": []}, response
        cold()  # SQS delivers at least once: the same message again finds the escalation open and sent
        response = application.escalation_worker(_sqs_event(messages, arn), _Context())
        assert response == {"batchItemFailures": []}, response

        cold()  # the Bhabinkamtibmas opens the reply link of their SMS and answers
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        [sms] = [m for to, m in sns_backends[DEFAULT_ACCOUNT_ID][iam.REGION].sms_messages.values()
                 if to == "+6281277001000"]
        reply = "/r/" + sms.rsplit("/r/", 1)[1]
        assert api.get(reply).status == 200
        r = api.request("POST", reply, raw=b"answer=moved&notes=Pindah+ke+Depok", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 200, r

        cold()
        r = api.get("/v1/escalations?state=open", "kasubsi.jaksel")
        assert r.status == 200 and len(r.json["items"]) == 1, r
        escalation_id = r.json["items"][0]["id"]
        assert api.get("/v1/escalations?officer=pk.andi", "kasubsi.jaksel").status == 200
        assert api.get(f"/v1/escalations/{escalation_id}", "pk.andi").status == 200
        assert api.get("/v1/tasks", "pk.andi").status == 200
        assert api.get("/v1/tasks", "kasubsi.jaksel").status == 200
        r = api.post(f"/v1/escalations/{escalation_id}/resolve", "kasubsi.jaksel",
                     {"resolution": "contact_restored"})
        assert r.status == 200, r
        for path in ("/v1/reports/compliance", f"/v1/clients/{cid}/timeline",
                     f"/v1/clients/{cid}/progress-reports"):
            assert api.get(path, "kasubsi.jaksel").status == 200, path
        cold()
        assert api.get("/v1/reports/compliance", "admin.pusat").status == 200  # the national view
        assert api.get("/v1/clients?name=klien", "kasubsi.jaksel").status == 200  # the dashboard's name search
        assert api.get("/v1/me/profile", "kasubsi.jaksel").status == 200

        # Reaching the client (issue 14): a weekly client whose window closes in under two days is reminded; the
        # messages are listed; a number is verified (the API's clock at 10:00 WIB: codes go only in daytime);
        # the SMS provider then reports the reminder undeliverable.
        body = client_body("pk.andi", supervision_start=(today - timedelta(days=5)).isoformat(),
                           supervision_end=(today + timedelta(days=175)).isoformat())
        r = api.post("/v1/clients", "kasubsi.jaksel", body)
        assert r.status == 201, r
        reminded = r.json["id"]
        cold()
        result = application.send_reminders(_scheduled(_at_wib(today, 9)), _Context())
        assert result.get("sent", 0) >= 1, result
        assert api.get(f"/v1/clients/{reminded}/messages", "pk.andi").status == 200
        with mock.patch("chalicelib.api.messages.now_utc", lambda: _at_wib(today, 10)):
            r = api.post(f"/v1/clients/{reminded}/phones/verify", "pk.andi", {"number": "0812-3456-7890"})
            assert r.status == 202, r
            code = next(w.rstrip(".") for w in sms_to("+6281234567890")[-1].split()
                        if w.rstrip(".").isdigit() and len(w.rstrip(".")) == 6)
            r = api.post(f"/v1/clients/{reminded}/phones/confirm", "pk.andi", {"number": "0812-3456-7890",
                                                                              "code": code})
            assert r.status == 200, r
        [reminder] = [m for m in NotificationModel.client_index.query(reminded) if m.kind == "reminder"]
        cold()
        result = application.sms_delivery_reports(delivery_event(failure(
            reminder.message_id, reminder.to, _at_wib(today, 9))), _Context())
        assert result == {"number_inactive": 1}, result

        cold()  # the client moves to another Bapas, with its (resolved) escalation and task
        r = api.post(f"/v1/clients/{cid}/transfer", "kasubsi.jaksel", {"to_bapas_id": "makassar", "reason": "Pindah."})
        assert r.status == 201, r
        transfer_id = r.json["id"]
        assert api.get("/v1/transfers?direction=outgoing", "kasubsi.jaksel").status == 200
        assert len(api.get("/v1/transfers?state=pending", "kasubsi.makassar").json["items"]) == 1
        r = api.post(f"/v1/transfers/{transfer_id}/accept", "kasubsi.makassar", {"officer": "pk.citra"})
        assert r.status == 200 and r.json["moved"] == 2, r

        cold()  # years later, the retention run anonymises the client: photos, records, escalations
        later = datetime.now(UTC) + timedelta(days=366 * 7)
        result = application.apply_retention(_scheduled(later), _Context())
        assert result["clients"] == 2 and result["photos_deleted"] >= 1, result
    return sorted(set(rec.calls))


def _scheduled(at: datetime) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "region": iam.REGION, "resources": [], "detail": {}}


_FLOWS: list[Call] = []


@pytest.fixture
def flows(request) -> list[Call]:
    """The key flows' calls (run once per session) and what each function's runtime does with its role."""
    if not _FLOWS:
        _FLOWS.extend(_key_flows(request.getfixturevalue("api")))
    return _FLOWS + [c for fn in iam.functions() for c in iam_tools.implicit_calls(fn, "dev")]


# Granted for paths the key flows do not reach; tests/test_escalation.py does, and `make test` records it.
NOT_IN_THE_KEY_FLOWS = {
    ("escalation_worker", "dynamodb:UpdateItem", "escalations"):
        "marks the previous escalation's episode ended when a client is escalated again",
    ("escalation_worker", "dynamodb:GetItem", "area-contacts"):
        "the Polsek/Polres fallback for a village without a Bhabinkamtibmas (tests/test_escalation_ladder.py)",
    ("escalation_worker", "dynamodb:GetItem", "notifications"):
        "sends a held message of another kind (a reminder, a verification code) once its time has come",
}


def _policies(stage: str = "dev") -> dict[str, dict[str, Any]]:
    return {fn: iam.load_policy(stage, fn) for fn in iam.functions()}


def test_every_call_of_the_key_flows_is_allowed_and_every_permission_is_used(flows):
    functions = {c.function for c in flows}
    assert functions == set(iam.functions()), functions
    assert violations(flows, _policies()) == []
    # The same calls against the prod stage's resources are allowed by the prod policies.
    prod = iam_tools.as_stage([c for c in flows if c.operation != "lambda" and c.operation != "event-source-mapping"],
                        "pantau-dev", "pantau-prod")
    prod += [c for fn in iam.functions() for c in iam_tools.implicit_calls(fn, "prod")]
    assert violations(prod, _policies("prod")) == []

    # Least privilege, the other way round: every action on every resource pattern granted is used by a flow.
    unused = []
    for fn, policy in _policies().items():
        mine = [c for c in flows if c.function == fn]
        for s in policy["Statement"]:
            for action in iam_tools._list(s["Action"]):
                for resource in iam_tools._list(s["Resource"]):
                    probe = {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": action, "Resource": resource}]}
                    if not any(c.action.lower() == action.lower() and allowed(probe, c.action, c.resource)
                               for c in mine):
                        table = resource.rsplit("table/pantau-dev-", 1)[-1]
                        if (fn, action, table) not in NOT_IN_THE_KEY_FLOWS:
                            unused.append((fn, s["Sid"], action, resource))
    assert unused == [], f"granted but never used by the key flows (remove it or exercise it here): {unused}"


def test_a_removed_permission_or_an_unpermitted_call_is_caught(flows):
    policies = _policies()
    # Each statement removed in turn: some call of the flows is refused.
    for fn, policy in policies.items():
        for i, s in enumerate(policy["Statement"]):
            reduced = copy.deepcopy(policies)
            del reduced[fn]["Statement"][i]
            assert violations(flows, reduced), f"{fn}: removing {s['Sid']} went unnoticed"
    # One action removed from a statement that has several.
    reduced = copy.deepcopy(policies)
    [worker_clients] = [s for s in reduced["escalation_worker"]["Statement"] if s["Sid"] == "Clients"]
    worker_clients["Action"].remove("dynamodb:UpdateItem")
    assert [c.action for c in violations(flows, reduced)] == ["dynamodb:UpdateItem"]

    # A call the daily run's policy does not allow, made inside a Chalice event handler, is recorded and refused.
    from chalice import Chalice, Rate

    from chalicelib.adapters import aws
    from chalicelib.config import settings

    probe = Chalice("probe")

    @probe.schedule(Rate(1, unit=Rate.DAYS))
    def escalate_unreachable(event):
        return aws.client("s3").list_objects_v2(Bucket=settings().bucket, Prefix="photos/")

    with mock_aws(), recording() as rec, contextlib.suppress(ClientError):  # NoSuchBucket: the call is what counts
        escalate_unreachable({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
                              "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": iam.REGION,
                              "resources": [], "detail": {}}, _Context())
    refused = violations(rec.calls, policies)
    assert [(c.function, c.action) for c in refused] == [("escalate_unreachable", "s3:ListBucket")]


def test_every_boto3_call_in_the_code_is_granted_to_some_function():
    found = iam_tools.static_calls()
    services = {s for s, _, _ in found}
    assert {"s3", "sqs", "sns", "cognito-idp"} <= services, found  # the scanner still sees the code
    policies = [iam.load_policy("prod", fn) for fn in iam.functions()]
    missing = []
    for service, method, where in sorted(found):
        if method == "generate_presigned_post":
            actions = ["s3:PutObject"]
        else:
            operation = iam_tools.method_to_operation(service, method)
            assert operation, f"{where}: {service}.{method} is not an API call; teach tests/iam_tools.py about it"
            actions = [a for a, _ in iam_tools.required(service, operation, _dummy_params(service), iam.REGION)]
        for action in actions:
            if not any(_grants(p, action) for p in policies):
                missing.append((where, service, method, action))
    assert missing == []


def _dummy_params(service: str) -> dict[str, Any]:
    return {"Bucket": "b", "Key": "k", "CopySource": {"Bucket": "b", "Key": "k"}, "QueueUrl": "https://q/1/q",
            "TopicArn": "arn:aws:sns:x", "UserPoolId": "p", "TableName": "t"}


def _grants(policy: dict[str, Any], action: str) -> bool:
    return any(s["Effect"] == "Allow"
               and iam_tools._match(iam_tools._list(s.get("Action")), action, case_sensitive=False)
               for s in policy["Statement"])


# ===== cost ================================================================================================

def test_the_cost_document_is_what_the_model_computes():
    from infra import cost

    assert (ROOT / "docs" / "cost.md").read_text() == cost.render(), "run `make cost`"
