"""Least privilege: one IAM policy per Lambda function.

`SPEC` says, per function, which actions on which resources it may use; `render(stage, function)` turns it
into the policy document Chalice attaches to that function's role (`.chalice/policy-<stage>-<function>.json`,
written by `python -m infra.iam`). Resources are ARN patterns for the stage's prefix and the region; the
account is `*` (a policy file cannot know it). A bare `"*"` resource appears only in `WILDCARD_EXCEPTIONS`,
where AWS has no resource to name.

The means to check the policies against what the code does (an IAM evaluator, a recorder of the AWS calls the
tests make, a scan of the source for boto3 calls) are test tooling: `tests/iam_tools.py` and the pytest plugin
`tests/iam_plugin.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHALICE_DIR = ROOT / ".chalice"
REGION = "ap-southeast-3"
ACCOUNT = "*"  # the policy files are account-independent

# ----- the policies --------------------------------------------------------------------------------------
# Resource templates: {p} = table/queue/topic prefix ("pantau-prod"), {r} = region, {a} = account.
TABLE = "arn:aws:dynamodb:{r}:{a}:table/{p}-%s"
INDEX = "arn:aws:dynamodb:{r}:{a}:table/{p}-%s/index/%s"
BUCKET = "arn:aws:s3:::{p}-photos*"  # in AWS "<prefix>-photos-<account id>" (S3 names are global)
QUEUE = "arn:aws:sqs:{r}:{a}:{p}-%s"
USER_POOL = "arn:aws:cognito-idp:{r}:{a}:userpool/*"  # narrowed to the stack's pool by a Deny in the template
LOG_GROUP = "arn:aws:logs:{r}:{a}:log-group:/aws/lambda/{p}-%s:*"

APPEND = ["dynamodb:PutItem"]  # the audit trail is append-only: nobody may update or delete it

# Where AWS requires Resource "*": (function or "*", action) -> why. The test refuses any other bare "*".
WILDCARD_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("escalation_worker", "sns:Publish"):
        "SMS to a phone number (Publish with PhoneNumber) has no resource ARN, so it needs Resource \"*\"; that "
        "also covers publishing to the coordinators topic (and, unavoidably, to any topic in the account).",
    ("api_handler", "sns:Publish"):
        "SMS to a phone number (Publish with PhoneNumber) has no resource ARN: a phone verification code, and a "
        "village's answer on the reply page to the PK (which also goes to the coordinators topic).",
    ("send_reminders", "sns:Publish"):
        "A reminder is an SMS to a phone number (Publish with PhoneNumber): no resource ARN.",
    ("*", "xray:PutTraceSegments"): "X-Ray trace segments have no resource-level permissions.",
    ("*", "xray:PutTelemetryRecords"): "X-Ray telemetry has no resource-level permissions.",
}


@dataclass(frozen=True)
class Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


def _g(sid: str, actions: Iterable[str], *resources: str) -> Grant:
    return Grant(sid, tuple(actions), tuple(resources))


# Exactly what each function's code does (see the recorded calls in test-output/aws-calls.json after `make test`):
# a new call fails tests/test_infra.py (and the `make test` session) until it is granted here.
SPEC: dict[str, list[Grant]] = {
    # The REST API: every route, behind the Cognito gate.
    "api_handler": [
        _g("BapasTimeZones", ["dynamodb:GetItem"], TABLE % "bapas"),
        _g("BapasRegistry", ["dynamodb:Query"], INDEX % ("bapas", "registry-index")),  # the national report
        _g("Clients", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], TABLE % "clients"),
        # Clients read by key in batches: a PK's escalation and task lists keep only clients assigned to them now
        # (services/casework.py) and show the clients' names (services/names.py); transfer lists show the
        # clients' summaries (services/transfers.py).
        _g("ClientBatchReads", ["dynamodb:BatchGetItem"], TABLE % "clients"),
        _g("ClientLists", ["dynamodb:Query"], INDEX % ("clients", "bapas-index"),
           INDEX % ("clients", "officer-index"), INDEX % ("clients", "report-index"),
           INDEX % ("clients", "bapas-name-index")),
        _g("Records", ["dynamodb:GetItem", "dynamodb:PutItem"], TABLE % "records"),
        _g("RecordLists", ["dynamodb:Query"], INDEX % ("records", "kind-time-index"),
           INDEX % ("records", "time-index")),
        _g("VillageContacts", ["dynamodb:GetItem", "dynamodb:PutItem"], TABLE % "village-contacts",
           TABLE % "area-contacts"),
        _g("Casework", ["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE % "escalations", TABLE % "tasks"),
        _g("CaseworkLists", ["dynamodb:Query"], INDEX % ("escalations", "bapas-state-index"),
           INDEX % ("escalations", "officer-state-index"), INDEX % ("escalations", "client-index"),
           INDEX % ("escalations", "bapas-resolved-index"), INDEX % ("tasks", "bapas-state-index"),
           INDEX % ("tasks", "officer-state-index")),
        _g("NotificationStatus", ["dynamodb:BatchGetItem"], TABLE % "notifications"),
        # Transfers between Bapas: the transfer, and the tasks it moves (services/transfers.py).
        _g("Transfers", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], TABLE % "transfers"),
        _g("TransferLists", ["dynamodb:Query"], INDEX % ("transfers", "incoming-index"),
           INDEX % ("transfers", "outgoing-index")),
        _g("TransferTasks", ["dynamodb:BatchGetItem"], TABLE % "tasks"),
        _g("Audit", APPEND, TABLE % "audit"),
        _g("ClientTimeline", ["dynamodb:Query"], TABLE % "audit"),  # a client's changes, newest first
        # Presigned POSTs are signed with this role: it must be allowed to put what it lets the app upload.
        _g("PhotoUploads", ["s3:PutObject"], BUCKET + "/pending/*"),
        _g("PhotoRead", ["s3:GetObject"], BUCKET + "/pending/*", BUCKET + "/photos/*"),
        # A record's photos are read and copied at the version that was checked (evidence cannot be swapped).
        _g("PhotoReadVersion", ["s3:GetObjectVersion"], BUCKET + "/pending/*"),
        _g("PhotoKeep", ["s3:PutObject"], BUCKET + "/photos/*"),
        # Without ListBucket S3 answers 403 instead of 404 for a missing key (storage.head relies on the 404).
        _g("PhotoExists", ["s3:ListBucket"], BUCKET),
        _g("OfficerDirectory", ["cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser"], USER_POOL),
        # The reply page: the link (GetItem) and the rate counters (conditional UpdateItem).
        _g("ReplyLinks", ["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE % "replies"),
        # Phone verification (issue 14): the code's SMS record, its outcome, the daily SMS cap; a client's messages.
        _g("VerificationMessages", ["dynamodb:PutItem", "dynamodb:UpdateItem"], TABLE % "notifications"),
        _g("ClientMessages", ["dynamodb:Query"], INDEX % ("notifications", "client-index")),
        _g("SmsDailyCap", ["dynamodb:UpdateItem"], TABLE % "counters"),
        # SMS (a verification code; a village's answer to the PK) and the coordinators topic (WILDCARD_EXCEPTIONS).
        _g("Sms", ["sns:Publish"], "*"),
    ],
    # The daily reminder run (issue 14): reads the due-index, makes each reminder once, sends it.
    "send_reminders": [
        _g("DueClients", ["dynamodb:Query"], INDEX % ("clients", "due-index")),
        _g("BapasSettings", ["dynamodb:GetItem"], TABLE % "bapas"),
        _g("Reminders", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], TABLE % "notifications"),
        _g("SmsDailyCap", ["dynamodb:UpdateItem"], TABLE % "counters"),
        _g("Audit", APPEND, TABLE % "audit"),
        _g("OfficerDirectory", ["cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser"], USER_POOL),
        _g("ReminderSms", ["sns:Publish"], "*"),
    ],
    # SNS's SMS delivery-failure logs (issue 14): the message by its SNS id, the dead number on its client.
    "sms_delivery_reports": [
        _g("MessagesById", ["dynamodb:Query"], INDEX % ("notifications", "message-index")),
        _g("Messages", ["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE % "notifications"),
        _g("Clients", ["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE % "clients"),
        _g("BapasTimeZones", ["dynamodb:GetItem"], TABLE % "bapas"),
        _g("Audit", APPEND, TABLE % "audit"),
    ],
    # The daily run: reads the due-index, enqueues, moves due_at.
    "escalate_unreachable": [
        _g("DueClients", ["dynamodb:Query"], INDEX % ("clients", "due-index")),
        _g("HeldMessages", ["dynamodb:Query"], INDEX % ("notifications", "deferred-index")),
        _g("MoveDue", ["dynamodb:UpdateItem"], TABLE % "clients"),
        _g("BapasTimeZones", ["dynamodb:GetItem"], TABLE % "bapas"),
        _g("Enqueue", ["sqs:SendMessage"], QUEUE % "escalations"),
    ],
    # The SQS worker: opens the escalation in one transaction and sends the notifications.
    "escalation_worker": [
        _g("Consume", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                       "sqs:ChangeMessageVisibility"], QUEUE % "escalations"),
        _g("Clients", ["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE % "clients"),
        _g("ReferenceData", ["dynamodb:GetItem"], TABLE % "bapas", TABLE % "village-contacts",
           TABLE % "area-contacts"),
        _g("DailySmsCap", ["dynamodb:UpdateItem"], TABLE % "counters"),
        _g("Escalations", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], TABLE % "escalations"),
        _g("Notifications", ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"],
           TABLE % "notifications"),
        _g("Tasks", ["dynamodb:PutItem"], TABLE % "tasks"),
        _g("ReplyLinks", ["dynamodb:PutItem"], TABLE % "replies"),  # a reply link per SMS outside the Bapas
        _g("Audit", APPEND, TABLE % "audit"),
        _g("OfficerDirectory", ["cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser"], USER_POOL),
        # SMS to the ladder's recipients, and the coordinators topic (see WILDCARD_EXCEPTIONS: a
        # separate grant on the topic ARN would be redundant next to this one).
        _g("SmsAndCoordinatorsTopic", ["sns:Publish"], "*"),
    ],
    # The daily retention run: anonymises clients whose supervision ended more than N years ago.
    "apply_retention": [
        _g("DueForRetention", ["dynamodb:Query"], INDEX % ("clients", "retention-index")),
        _g("Clients", ["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE % "clients"),
        _g("Records", ["dynamodb:Query", "dynamodb:PutItem"], TABLE % "records"),
        _g("EscalationsOfClient", ["dynamodb:Query"], INDEX % ("escalations", "client-index")),
        _g("Escalations", ["dynamodb:UpdateItem"], TABLE % "escalations"),
        _g("MessagesOfClient", ["dynamodb:Query"], INDEX % ("notifications", "client-index")),
        _g("Messages", ["dynamodb:UpdateItem"], TABLE % "notifications"),
        _g("TransfersOutOfBapas", ["dynamodb:Query"], INDEX % ("transfers", "outgoing-index")),
        _g("Transfers", ["dynamodb:UpdateItem"], TABLE % "transfers"),
        _g("Audit", APPEND, TABLE % "audit"),
        _g("ListPhotoVersions", ["s3:ListBucketVersions"], BUCKET),
        # Every version is deleted by id (the bucket is versioned): DeleteObjectVersion, not DeleteObject.
        _g("DeletePhotos", ["s3:DeleteObjectVersion"], BUCKET + "/photos/*", BUCKET + "/pending/*"),
    ],
}


def functions() -> list[str]:
    return list(SPEC)


def stage_prefixes() -> dict[str, str]:
    """stage -> PANTAU_TABLE_PREFIX, from `.chalice/config.json` (the one place a stage's prefix is set)."""
    config = json.loads((CHALICE_DIR / "config.json").read_text())
    base = config.get("environment_variables", {}).get("PANTAU_TABLE_PREFIX")
    return {stage: s.get("environment_variables", {}).get("PANTAU_TABLE_PREFIX", base)
            for stage, s in config["stages"].items()}


def xray_enabled(stage: str) -> bool:
    config = json.loads((CHALICE_DIR / "config.json").read_text())
    return bool(config["stages"][stage].get("xray", config.get("xray", False)))


def policy_file(stage: str, function: str) -> Path:
    return CHALICE_DIR / f"policy-{stage}-{function}.json"


def render(stage: str, function: str, region: str = REGION) -> dict[str, Any]:
    prefix = stage_prefixes()[stage]
    fill = {"p": prefix, "r": region, "a": ACCOUNT}
    statements: list[dict[str, Any]] = [{
        # Chalice creates each function's log group (log_retention_in_days): the function only writes to it.
        "Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": (LOG_GROUP % function).format(**fill),
    }]
    for grant in SPEC[function]:
        resources = [r.format(**fill) for r in grant.resources]
        statements.append({"Sid": grant.sid, "Effect": "Allow", "Action": list(grant.actions),
                           "Resource": resources[0] if len(resources) == 1 else resources})
    if xray_enabled(stage):
        statements.append({"Sid": "XRay", "Effect": "Allow",
                           "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def write_policies() -> list[Path]:
    written = []
    for stage in stage_prefixes():
        for function in functions():
            path = policy_file(stage, function)
            path.write_text(json.dumps(render(stage, function), indent=2) + "\n")
            written.append(path)
    return written


def load_policy(stage: str, function: str) -> dict[str, Any]:
    return json.loads(policy_file(stage, function).read_text())


if __name__ == "__main__":
    for written in write_policies():
        print(written.relative_to(ROOT))
