"""Test tooling for the IAM policies of `infra/iam.py`: does each function's policy allow what its code does?

- `Recorder` patches botocore's `_make_api_call` (through which boto3 and PynamoDB both go) and records every
  AWS call made inside a Lambda entry point as `Call(function, action, resource)`: the function is found on
  the stack (Chalice's REST entry point -> `api_handler`, an event handler -> its name), the IAM action and
  resource ARN are derived from the operation and its parameters (`required`).
- `allowed(policy, action, resource)` evaluates a policy document (Allow/Deny, Action/NotAction,
  Resource/NotResource, `*` and `?` wildcards); `violations(calls, policies)` lists what a policy would refuse.
- `static_calls()` lists the boto3 client methods `chalicelib/` calls (by reading the source), so a new call
  that no flow exercises still needs a permission somewhere.

Used by `tests/test_infra.py` and by the pytest plugin `tests/iam_plugin.py` (`make test`).
"""

from __future__ import annotations

import ast
import fnmatch
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from infra.iam import REGION, ROOT, stage_prefixes, xray_enabled

RECORDED_ACCOUNT = "123456789012"  # the account id the recorder puts in ARNs (policies say `*`)

# ----- evaluation ----------------------------------------------------------------------------------------

def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _match(patterns: list[str], value: str, case_sensitive: bool) -> bool:
    for pattern in patterns:
        if case_sensitive:
            if fnmatch.fnmatchcase(value, pattern):
                return True
        elif fnmatch.fnmatchcase(value.lower(), pattern.lower()):
            return True
    return False


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        action_ok = _match(_list(statement["Action"]), action, case_sensitive=False)
    else:
        action_ok = not _match(_list(statement.get("NotAction")), action, case_sensitive=False)
    if "Resource" in statement:
        resource_ok = _match(_list(statement["Resource"]), resource, case_sensitive=True)
    else:
        resource_ok = not _match(_list(statement.get("NotResource")), resource, case_sensitive=True)
    return action_ok and resource_ok  # conditions are not used by Pantau's policies


def allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    """IAM's answer for one request under one identity policy: an explicit Deny wins, else any Allow."""
    statements = _list(policy.get("Statement")) if isinstance(policy.get("Statement"), str) else \
        list(policy.get("Statement", []))
    if any(s["Effect"] == "Deny" and _applies(s, action, resource) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _applies(s, action, resource) for s in statements)


# ----- what an AWS call needs ----------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Call:
    function: str
    action: str
    resource: str
    operation: str = ""  # "<service>.<Operation>" that needed it


def _table(name: str, region: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{region}:{RECORDED_ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _queue_arn(url: str, region: str) -> str:
    parts = urlparse(url).path.strip("/").split("/")
    account, name = (parts[-2], parts[-1]) if len(parts) >= 2 else (RECORDED_ACCOUNT, parts[-1])
    return f"arn:aws:sqs:{region}:{account}:{name}"


_TRANSACT = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
             "ConditionCheck": "dynamodb:ConditionCheckItem", "Get": "dynamodb:GetItem"}
_SQS_ACTION = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
               "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def required(service: str, operation: str, params: dict[str, Any], region: str) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS checks for one API call."""
    if service == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for item in params.get("TransactItems", []):
                for kind, body in item.items():
                    out.append((_TRANSACT[kind], _table(body["TableName"], region)))
            return out
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", _table(t, region)) for t in params.get("RequestItems", {})]
        index = params.get("IndexName") if operation in ("Query", "Scan") else None
        return [(f"dynamodb:{operation}", _table(params["TableName"], region, index))]
    if service == "s3":
        bucket = params.get("Bucket", "")
        obj = f"arn:aws:s3:::{bucket}/{params.get('Key', '')}"
        # Reading a given version (VersionId) is s3:GetObjectVersion, not s3:GetObject.
        read = "s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject"
        if operation == "HeadObject":
            # 404 for a missing key needs ListBucket, otherwise S3 answers 403.
            return [(read, obj), ("s3:ListBucket", f"arn:aws:s3:::{bucket}")]
        if operation == "GetObject":
            return [(read, obj)]
        if operation == "CopyObject":
            source = params.get("CopySource")
            if isinstance(source, dict):
                src = f"arn:aws:s3:::{source['Bucket']}/{source['Key']}"
                versioned = bool(source.get("VersionId"))
            else:
                src = "arn:aws:s3:::" + str(source).lstrip("/").split("?")[0]
                versioned = "versionId=" in str(source)
            return [("s3:GetObjectVersion" if versioned else "s3:GetObject", src), ("s3:PutObject", obj)]
        if operation in ("ListObjectsV2", "ListObjects"):
            return [("s3:ListBucket", f"arn:aws:s3:::{bucket}")]
        if operation == "ListObjectVersions":
            return [("s3:ListBucketVersions", f"arn:aws:s3:::{bucket}")]
        if operation == "DeleteObjects":
            out = []
            for o in params.get("Delete", {}).get("Objects", []):
                key = f"arn:aws:s3:::{bucket}/{o['Key']}"
                out.append(("s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject", key))
            return out
        if operation == "DeleteObject" and params.get("VersionId"):
            return [("s3:DeleteObjectVersion", obj)]
        return [(f"s3:{operation}", obj)]
    if service == "sqs":
        return [(f"sqs:{_SQS_ACTION.get(operation, operation)}", _queue_arn(params.get("QueueUrl", ""), region))]
    if service == "sns":
        target = params.get("TopicArn") or params.get("TargetArn") or "*"
        return [(f"sns:{operation}", target)]
    if service == "cognito-idp" and "UserPoolId" in params:
        return [(f"cognito-idp:{operation}",
                 f"arn:aws:cognito-idp:{region}:{RECORDED_ACCOUNT}:userpool/{params['UserPoolId']}")]
    return [(f"{service}:{operation}", "*")]


def implicit_calls(function: str, stage: str, region: str = REGION) -> list[Call]:
    """What runs with the function's role without the code calling it: logs, X-Ray, the SQS poller."""
    prefix = stage_prefixes()[stage]
    group = f"arn:aws:logs:{region}:{RECORDED_ACCOUNT}:log-group:/aws/lambda/{prefix}-{function}:log-stream:x"
    calls = [Call(function, "logs:CreateLogStream", group, "lambda"),
             Call(function, "logs:PutLogEvents", group, "lambda")]
    if xray_enabled(stage):
        calls += [Call(function, "xray:PutTraceSegments", "*", "lambda"),
                  Call(function, "xray:PutTelemetryRecords", "*", "lambda")]
    for queue in sqs_sources().get(function, []):
        arn = f"arn:aws:sqs:{region}:{RECORDED_ACCOUNT}:{prefix}-{queue}"
        calls += [Call(function, f"sqs:{a}", arn, "event-source-mapping")
                  for a in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "ChangeMessageVisibility")]
    return calls


def sqs_sources() -> dict[str, list[str]]:
    """function -> queue names without the prefix, from the app's `@app.on_sqs_message` handlers.

    app.py names the dev queue; the merged template points the event source at the stage's queue.
    """
    import app as application

    out: dict[str, list[str]] = {}
    for source in application.app.event_sources:
        queue = getattr(source, "queue", None)
        if type(source).__name__ == "SQSEventConfig" and queue:
            out.setdefault(source.name, []).append(re.sub(r"^pantau-[a-z0-9]+-", "", queue))
    return out


def violations(calls: Iterable[Call], policies: dict[str, dict[str, Any]]) -> list[Call]:
    out = []
    for call in sorted(set(calls)):
        policy = policies.get(call.function)
        if policy is None or not allowed(policy, call.action, _as_policy_resource(call.resource)):
            out.append(call)
    return out


def _as_policy_resource(resource: str) -> str:
    return resource


# ----- recording ------------------------------------------------------------------------------------------

def lambda_function_on_stack(frame: Any) -> str | None:
    """Which Lambda function this code runs in: Chalice's REST entry point, or an event handler's name."""
    from chalice.app import Chalice, EventSourceHandler, LambdaFunction

    while frame is not None:
        if frame.f_code.co_name == "__call__":
            me = frame.f_locals.get("self")
            if isinstance(me, Chalice):
                return "api_handler"
            if isinstance(me, EventSourceHandler):  # a pure `@app.lambda_function` is wrapped once more
                return getattr(me.func, "_original_func", me.func).__name__
            if isinstance(me, LambdaFunction):
                return me.name
        frame = frame.f_back
    return None


_ACTIVE: list[Recorder] = []  # nested recorders: the innermost one records (a test checks its own calls)


class Recorder:
    """Record every AWS call made inside a Lambda entry point (boto3 and PynamoDB alike)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._original: Any = None
        self._original_post: Any = None
        self._original_url: Any = None

    def _record(self, service: str, operation: str, params: dict[str, Any], region: str) -> None:
        if not _ACTIVE or _ACTIVE[-1] is not self:
            return
        function = lambda_function_on_stack(sys._getframe(2))
        if function is None:
            return
        try:
            needs = required(service, operation, params, region)
        except (KeyError, TypeError, AttributeError):
            needs = [(f"{service}:{operation}", "*")]
        with self._lock:
            self.calls.extend(Call(function, a, r, f"{service}.{operation}") for a, r in needs)

    def install(self) -> None:
        from botocore.client import BaseClient
        from botocore.signers import RequestSigner, S3PostPresigner

        recorder = self
        original = self._original = BaseClient._make_api_call
        original_post = self._original_post = S3PostPresigner.generate_presigned_post

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            meta = client.meta
            recorder._record(meta.service_model.signing_name, operation_name, api_params, meta.region_name)
            return original(client, operation_name, api_params)

        def generate_presigned_post(presigner: Any, request_dict: Any, fields: Any = None, conditions: Any = None,
                                    expires_in: int = 3600, region_name: Any = None) -> Any:
            bucket = next((c["bucket"] for c in conditions or [] if isinstance(c, dict) and "bucket" in c), "")
            key = (fields or {}).get("key", "")
            # The upload itself is made by the app with this signature: it needs the signer's PutObject.
            recorder._record("s3", "PutObject", {"Bucket": bucket, "Key": key}, region_name or REGION)
            return original_post(presigner, request_dict, fields=fields, conditions=conditions,
                                 expires_in=expires_in, region_name=region_name)

        original_url = self._original_url = RequestSigner.generate_presigned_url

        def generate_presigned_url(signer: Any, request_dict: Any, operation_name: str, expires_in: int = 3600,
                                   region_name: Any = None, signing_name: Any = None) -> Any:
            service_id = getattr(signer, "_service_id", None)
            service = service_id.hyphenize() if service_id is not None else "s3"
            params = _params_from_url(service, request_dict.get("url", ""))
            # Whoever uses the URL acts with this role's permissions for that operation.
            recorder._record(service, operation_name, params, region_name or signer.region_name or REGION)
            return original_url(signer, request_dict, operation_name, expires_in=expires_in,
                                region_name=region_name, signing_name=signing_name)

        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        S3PostPresigner.generate_presigned_post = generate_presigned_post  # type: ignore[method-assign]
        RequestSigner.generate_presigned_url = generate_presigned_url  # type: ignore[method-assign]
        _ACTIVE.append(self)

    def uninstall(self) -> None:
        from botocore.client import BaseClient
        from botocore.signers import RequestSigner, S3PostPresigner

        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self._original is not None:
            BaseClient._make_api_call = self._original  # type: ignore[method-assign]
            S3PostPresigner.generate_presigned_post = self._original_post  # type: ignore[method-assign]
            RequestSigner.generate_presigned_url = self._original_url  # type: ignore[method-assign]
            self._original = self._original_post = self._original_url = None


def _params_from_url(service: str, url: str) -> dict[str, Any]:
    """Bucket and key of a presigned S3 URL (path or virtual-host style)."""
    if service != "s3":
        return {}
    parsed = urlparse(url)
    path = parsed.path.lstrip("/")
    host = parsed.hostname or ""
    if host.startswith("s3.") or host.startswith("s3-") or host.startswith("localhost") or host[:1].isdigit():
        bucket, _, key = path.partition("/")
    else:
        bucket, key = host.split(".", 1)[0], path
    from urllib.parse import unquote

    return {"Bucket": bucket, "Key": unquote(key)}


@contextmanager
def recording() -> Iterator[Recorder]:
    recorder = Recorder()
    recorder.install()
    try:
        yield recorder
    finally:
        recorder.uninstall()


def as_stage(calls: Iterable[Call], from_prefix: str, to_prefix: str) -> list[Call]:
    """Calls recorded against one stage's resources (tests run as `pantau-dev`) renamed to another's."""
    out = []
    for c in calls:
        resource = c.resource.replace(f":{from_prefix}-", f":{to_prefix}-").replace(
            f"/{from_prefix}-", f"/{to_prefix}-").replace(f":::{from_prefix}-", f":::{to_prefix}-")
        out.append(Call(c.function, c.action, resource, c.operation))
    return out


# ----- reading the source -------------------------------------------------------------------------------

_CLIENT_FACTORIES = {"client", "aws_client"}


def static_calls(root: Path = ROOT / "chalicelib") -> set[tuple[str, str, str]]:
    """(service, method, "file:line") for every boto3 client method called in `root`.

    A client expression is `client("svc")`, `aws_client("svc")`, `aws.client("svc")`, a name assigned from one,
    or a call of a module function whose body returns one (`_s3()`).
    """
    found: set[tuple[str, str, str]] = set()
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        helpers = _client_helpers(tree)
        rel = path.relative_to(ROOT)
        for scope in [tree, *[n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]]:
            names: dict[str, str] = {}
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    service = _client_service(node.value, helpers)
                    if service:
                        names[node.targets[0].id] = service
            for node in ast.walk(scope):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    receiver = node.func.value
                    service = _client_service(receiver, helpers)
                    if service is None and isinstance(receiver, ast.Name):
                        service = names.get(receiver.id)
                    if service:
                        method = node.func.attr
                        if method in ("get_paginator", "generate_presigned_url") and node.args and \
                                isinstance(node.args[0], ast.Constant):
                            method = str(node.args[0].value)  # the operation it paginates or signs
                        found.add((service, method, f"{rel}:{node.lineno}"))
    return found


def _client_service(node: ast.AST, helpers: dict[str, str]) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if name in _CLIENT_FACTORIES and node.args and isinstance(node.args[0], ast.Constant):
        return str(node.args[0].value)
    if name in helpers and not node.args:
        return helpers[name]
    return None


def _client_helpers(tree: ast.Module) -> dict[str, str]:
    helpers: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    service = _client_service(inner.value, {})
                    if service:
                        helpers[node.name] = service
    return helpers


def method_to_operation(service: str, method: str) -> str | None:
    """boto3 method name -> API operation name (None for client helpers that are not API calls)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    for op in model.operation_names:
        if re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower() == method or _xform(op) == method:
            return op
    return None


def _xform(op: str) -> str:
    from botocore import xform_name

    return xform_name(op)
