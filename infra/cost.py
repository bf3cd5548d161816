"""Monthly AWS cost of Pantau for one Bapas and for all of Indonesia: `make cost` (writes docs/cost.md).

    python -m infra.cost            # print
    python -m infra.cost --write    # and write docs/cost.md

Everything the result depends on is a constant below: the prices (USD, Asia Pacific (Jakarta),
ap-southeast-3), the workload (how often PKs and coordinators use the app) and the item sizes. The DynamoDB and
S3 requests per write come from `docs/benchmarks.md` (the PUT check-in benchmark) when it has them, and the
cold-start import time from the package benchmark; where the benchmarks say nothing the constant below is used
and the document says so. Re-run after a price, a workload figure or a benchmark changes.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cost.md"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"

# ----- prices: USD, ap-southeast-3, on-demand list prices -----------------------------------------------------
# The author's figures for Asia Pacific (Jakarta) at the time of writing, NOT fetched from the AWS Price List:
# verify them on https://aws.amazon.com/<service>/pricing/ (or `aws pricing get-products`) before budgeting.
# SMS prices change with carrier fees: see the SNS "SMS pricing" table for Indonesia.
PRICES = {
    "lambda_gb_second": 0.0000166667,     # x86
    "lambda_request": 0.20 / 1e6,
    "apigw_rest_request": 3.50 / 1e6,     # REST API, first 333 million/month
    "ddb_write_unit": 0.7125 / 1e6,       # on-demand write request unit
    "ddb_read_unit": 0.1425 / 1e6,        # on-demand read request unit
    "ddb_storage_gb": 0.285,              # per GB-month, Standard table class
    "ddb_pitr_gb": 0.228,                 # continuous backups, per GB-month of table size
    "s3_storage_gb": 0.025,               # S3 Standard, per GB-month
    "s3_put_request": 0.005 / 1000,       # PUT, COPY, POST, LIST
    "s3_get_request": 0.0004 / 1000,      # GET, HEAD
    "sms_indonesia": 0.0430,              # SNS SMS to Indonesia, per message part (transactional)
    "sns_email": 2.00 / 100_000,          # email notifications from a topic
    "sqs_request": 0.40 / 1e6,
    "cognito_mau_lite": 0.0055,           # Lite tier, per monthly active user above the free 10,000
    "cw_alarm": 0.10,                     # per standard-resolution metric alarm per month
    "cw_logs_ingest_gb": 0.66,
    "cw_logs_storage_gb": 0.033,
    "xray_trace": 5.00 / 1e6,             # traces recorded
    # Lambda SnapStart (the API function): the snapshot's cache for each active published version, per GB of
    # memory and second, and each restore (a new execution environment), per GB of memory.
    "snapstart_cache_gb_second": 0.0000015046,
    "snapstart_restore_gb": 0.0001397998,
    # AWS WAF (the API stage's web ACL, infra/template.py `firewall`): per web ACL and per rule a month, and per
    # request inspected.
    "waf_web_acl": 5.00,
    "waf_rule": 1.00,
    "waf_request": 0.60 / 1e6,
}
# Always-free allowances per account and month (they do not expire after 12 months).
FREE = {
    "lambda_request": 1_000_000, "lambda_gb_second": 400_000, "ddb_storage_gb": 25, "sqs_request": 1_000_000,
    "cognito_mau_lite": 10_000, "cw_alarm": 10, "cw_logs_ingest_gb": 5, "xray_trace": 100_000, "sns_email": 1_000,
}
USD_TO_IDR = 16_300  # for the Rupiah column only

# ----- workload -----------------------------------------------------------------------------------------------
WORK_DAYS = 22
WEEKLY_SHARE = 0.4              # clients on asimilasi (weekly contact); the rest report monthly
CHECKINS_PER_WEEKLY_CLIENT = 4.35 * 1.3   # a check-in per week, +30 % for calls that did not reach the client
CHECKINS_PER_MONTHLY_CLIENT = 1.0 * 1.3
VISITS_PER_CLIENT = 0.25        # a home visit every four months
PHOTOS_PER_VISIT = 2
PHOTO_MB = 1.5                  # the app resizes before upload (the API allows up to 10 MiB)
PROGRESS_REPORTS_PER_CLIENT = 0.5
CLIENT_EDITS_PER_CLIENT = 0.1   # registrations and changes by coordinators
READS_PER_PK_DAY = 60           # lists, client details, record lists, tasks (the app works offline in between)
READS_PER_COORDINATOR_DAY = 120  # dashboard, compliance report, escalations
COORDINATORS_PER_BAPAS = 2
ADMINS = 5
ESCALATIONS_PER_CLIENT = 0.03   # unreachable episodes opened per client and month
# Escalation SMS: the Bhabinkamtibmas and the village office (with the reply link: up to three parts each) and
# the PK; their parts are counted from the app's own texts (`_sms_parts`).
ESCALATION_SMS_ROLES = ("bhabinkamtibmas", "village_office", "officer")
DUE_PER_CLIENT_DAY = WEEKLY_SHARE / 7 + (1 - WEEKLY_SHARE) / 30  # clients the daily run evaluates
WINDOWS_PER_CLIENT = WEEKLY_SHARE * 4.35 + (1 - WEEKLY_SHARE) * 1.0  # check-in windows per client and month
# Reminders (issue 14): the share of windows still without a counted contact two days before they close (the
# default reminder_days_before), each of which gets one reminder SMS (bench/reminder_bench.py seeds 60 % of the
# clients as having reported by then). An assumption: measure it in production (the RemindersSent metric).
REMINDED_SHARE_OF_WINDOWS = 0.4
READ_AHEAD_DAYS = 7             # the reminder run reads every client whose window closes within 7 days
REMINDER_READ_PER_CLIENT_DAY = WEEKLY_SHARE + (1 - WEEKLY_SHARE) * READ_AHEAD_DAYS / 30
VERIFICATIONS_PER_CLIENT = 0.05  # phone verification codes per client and month (about one per intake)
RETENTION_YEARS = 5

# ----- per request ----------------------------------------------------------------------------------------------
# Item sizes (KB) and indexes decide DynamoDB units: a transactional write costs 2 WRU per KB per item, a GSI or LSI
# with projection ALL costs another write per KB whenever the item changes; a strongly consistent read 1 RRU per
# 4 KB, an eventually consistent one half that.
CLIENT_KB, RECORD_KB, AUDIT_KB, SMALL_KB = 3.0, 1.5, 0.5, 1.0
CLIENT_ALL_GSIS = 3             # bapas-index, officer-index, due-index (retention-index is keys-only)
LIST_PAGE_ITEMS = 25
API_WARM_MS = 150               # one API request in Lambda at 512 MB (in-process benchmark: 30-70 ms under moto)
LAMBDA_MEMORY_GB = 0.5
CPU_FACTOR_512MB = 3            # 512 MB gets about a third of a vCPU: the import's CPU time x 3 is its duration
RUNTIME_INIT_MS = 250           # the Python runtime itself, before our import
COLD_START_SHARE = {"one": 0.15, "national": 0.03}  # idle gaps: a single Bapas is cold far more often
# SnapStart on the API function: its new environments are restored from a snapshot instead of initialised. Billed
# per restore: Lambda loading the runtime and running the after-restore hook (chalicelib/snapstart.py), not the
# import. The cache is charged for every active version (the live one and, for up to 14 days after a deploy, the
# previous one: assume two all month). The scheduled functions and the worker start cold as before.
SNAPSTART_RESTORE_MS = 300
SNAPSTART_CACHED_VERSIONS = 2
MONTH_SECONDS = 30 * 24 * 3600
WORKER_MS_PER_ESCALATION = 800  # transaction + two SMS + one topic publish
RUN_MS_PER_DUE_CLIENT = 25
RUN_MS_PER_REMINDER = 100       # a GetItem, a transaction, the SMS and two updates, in sequence
LOG_KB_PER_INVOCATION = 1.2     # one JSON line + EMF metrics + Lambda's START/END/REPORT
LOG_RETENTION_MONTHS = 3        # log_retention_in_days: 90
SQS_IDLE_RECEIVES = 5 * 3 * 60 * 24 * 30  # Lambda's 5 pollers, 20 s long polls, all month
XRAY_RESERVOIR_PER_SECOND, XRAY_RATE = 1, 0.05
BUSY_SECONDS = WORK_DAYS * 10 * 3600

DEFAULTS = {"put_getitems": 1, "put_transactions": 1, "photo_head": 1, "photo_get": 1, "photo_copy": 1,
            "cold_import_ms": 1000.0}


def benchmark_figures(text: str | None = None) -> dict[str, Any]:
    """Per-request figures from docs/benchmarks.md; {name: (value, source)}, falling back to DEFAULTS."""
    if text is None:
        text = BENCHMARKS.read_text() if BENCHMARKS.exists() else ""
    found: dict[str, Any] = {k: (v, "assumed") for k, v in DEFAULTS.items()}
    row = re.search(r"\|\s*check-in, no photos\s*\|([^|\n]+)\|", text)
    if row:
        gets = re.search(r"(\d+)\s*GetItem", row.group(1))
        txs = re.search(r"(\d+)\s*TransactWriteItems", row.group(1))
        if gets and txs:
            found["put_getitems"] = (int(gets.group(1)), "benchmarks.md, PUT check-in")
            found["put_transactions"] = (int(txs.group(1)), "benchmarks.md, PUT check-in")
    visit = re.search(r"\|\s*visit, two JPEG photos\s*\|[^|\n]+\|([^|\n]+)\|", text)
    if visit:
        for key, op in (("photo_head", "HeadObject"), ("photo_get", "GetObject"), ("photo_copy", "CopyObject")):
            m = re.search(rf"(\d+)\s*{op}", visit.group(1))
            if m:
                found[key] = (int(m.group(1)) / 2, "benchmarks.md, PUT visit with two photos")
    cold = re.search(r"CPU time of the import: `app` / `boto3, chalice` \|\s*\*\*(\d+(?:\.\d+)?) ms\*\*", text)
    if cold:
        found["cold_import_ms"] = (float(cold.group(1)), "benchmarks.md, package benchmark (CPU time)")
    return found


def _sms_parts() -> dict[str, int]:
    """SMS parts of the texts as the app writes them (GSM-7: 160 characters in one part, 153 a part beyond):
    a reminder, a verification code and an escalation's three SMS, with a long Bapas name and ordinary names."""
    from datetime import date

    from chalicelib.domain import notices, reminders, verification
    from chalicelib.domain.notices import gsm7_length

    bapas, pk = "Bapas Kelas I Jakarta Selatan", "Andi Pratama"
    texts = {"reminder": reminders.client_text("Budi Santoso", date(2026, 12, 2), bapas, pk, "+6281234567890"),
             "verification": verification.sms_text("123456", bapas, pk)}
    facts = notices.NoticeFacts(
        escalation_id="0b6f3a52-8d1e-4c8e-9a57-3f1d2c4b5a69", reason="three_missed", bapas_name=bapas,
        client_name="Budi Santoso", village_code="31.74.09.1001", village_name="Jagakarsa", officer_name=pk,
        officer_phone="+6281234567890", task_due=date(2026, 12, 4), rt_rw="RT 003/RW 005",
        police_role="bhabinkamtibmas", police_name="Bripka Joko Susilo", police_phone="+6281277001000")
    link = "https://k3x9p2a7bq.execute-api.ap-southeast-3.amazonaws.com/r/AbCdEfGhIjKlMnOpQrStUv"  # as deployed
    escalation = {role: notices.compose(role, facts, "Bripka Joko Susilo" if role != "village_office"
                                        else "Sekretaris Lurah", link if role != "officer" else None)
                  for role in ESCALATION_SMS_ROLES}

    def count(text: str) -> int:
        n = gsm7_length(text) or len(text)
        return 1 if n <= 160 else math.ceil(n / 153)

    parts = {key: count(text) for key, text in texts.items()}
    parts["escalation"] = sum(count(text) for text in escalation.values())
    return parts


SMS_PARTS = _sms_parts()


def waf_rules() -> int:
    from infra.template import firewall

    return len(firewall()["ApiFirewall"]["Properties"]["Rules"])


def alarm_count() -> int:
    from infra.template import TEMPLATE, load

    template = load(TEMPLATE.read_text())
    return sum(1 for r in template["Resources"].values() if r.get("Type") == "AWS::CloudWatch::Alarm")


@dataclass(frozen=True)
class Scale:
    key: str
    title: str
    bapas: int
    clients: int
    pks: int


SCALES = (Scale("one", "One Bapas", 1, 1_200, 30), Scale("national", "All of Indonesia", 90, 100_000, 3_000))


def _units(kb: float, per: float) -> int:
    return max(1, math.ceil(kb / per))


def per_operation(bench: dict[str, Any]) -> dict[str, dict[str, float]]:
    """DynamoDB units, S3 requests and Lambda time of each operation."""
    gets, txs = bench["put_getitems"][0], bench["put_transactions"][0]
    # A record write: the client read (consistent), then one transaction of record + audit + client update.
    record_write = {
        "rru": gets * _units(CLIENT_KB, 4),
        "wru": txs * 2 * (_units(RECORD_KB, 1) + _units(AUDIT_KB, 1) + _units(CLIENT_KB, 1))
        + _units(RECORD_KB, 1)  # kind-time LSI
        + CLIENT_ALL_GSIS * _units(CLIENT_KB, 1),  # the client's ALL-projection GSIs are rewritten
    }
    list_read = 0.5 * _units(LIST_PAGE_ITEMS * CLIENT_KB, 4)
    detail_read = _units(CLIENT_KB, 4) + 0.5 * _units(5 * RECORD_KB, 4)
    return {
        "record_write": record_write,
        "read": {"rru": 0.4 * list_read + 0.6 * detail_read, "wru": 0},
        "client_edit": {"rru": _units(CLIENT_KB, 4),
                        "wru": 2 * (_units(CLIENT_KB, 1) + _units(AUDIT_KB, 1))
                        + CLIENT_ALL_GSIS * _units(CLIENT_KB, 1)},
        # The daily run: its share of a due-index page, then a conditional update that moves due_at (the
        # due-index entry moves: one more write).
        "due_client": {"rru": 0.5 * CLIENT_KB / 4,
                       "wru": _units(CLIENT_KB, 1) + (CLIENT_ALL_GSIS + 1) * _units(CLIENT_KB, 1)},
        # The worker: client + village reads, one transaction (escalation, 3 notifications, task, client, 2 audits)
        # with their GSIs, then the notifications settled.
        # The reminder run, per reminder: the reminder's consistent GetItem, one transaction (the reminder and
        # its audit entry; the message's client-index copy), the `sent` mark (and its client-index copy), the
        # Bapas's daily SMS counter (benchmarks.md, reminder benchmark: 5 DynamoDB requests per reminder).
        "reminder": {"rru": 1,
                     "wru": 2 * (_units(SMALL_KB, 1) + _units(AUDIT_KB, 1)) + _units(SMALL_KB, 1)
                     + 2 * _units(SMALL_KB, 1) + _units(SMALL_KB, 1)},
        "escalation": {"rru": 2,
                       "wru": 2 * (5 * _units(SMALL_KB, 1) + _units(CLIENT_KB, 1) + 2 * _units(AUDIT_KB, 1))
                       + 4 * _units(SMALL_KB, 1) + 2 * _units(SMALL_KB, 1) + CLIENT_ALL_GSIS * _units(CLIENT_KB, 1)
                       + 3 * _units(SMALL_KB, 1)},
    }


def usage(scale: Scale, bench: dict[str, Any]) -> dict[str, float]:
    c = scale.clients
    checkins = c * (WEEKLY_SHARE * CHECKINS_PER_WEEKLY_CLIENT + (1 - WEEKLY_SHARE) * CHECKINS_PER_MONTHLY_CLIENT)
    visits = c * VISITS_PER_CLIENT
    photos = visits * PHOTOS_PER_VISIT
    reports = c * PROGRESS_REPORTS_PER_CLIENT
    edits = c * CLIENT_EDITS_PER_CLIENT
    coordinators = scale.bapas * COORDINATORS_PER_BAPAS
    reads = WORK_DAYS * (scale.pks * READS_PER_PK_DAY + coordinators * READS_PER_COORDINATOR_DAY)
    writes = checkins + visits + reports + edits
    uploads = visits  # one POST /v1/uploads per visit
    api = reads + writes + uploads
    escalations = c * ESCALATIONS_PER_CLIENT
    due = c * DUE_PER_CLIENT_DAY * 30
    reminders = c * WINDOWS_PER_CLIENT * REMINDED_SHARE_OF_WINDOWS
    reminder_reads = c * REMINDER_READ_PER_CLIENT_DAY * 30  # client items read from the due index, a month
    verifications = c * VERIFICATIONS_PER_CLIENT
    ops = per_operation(bench)

    rru = (ops["record_write"]["rru"] * (checkins + visits + reports) + ops["read"]["rru"] * reads
           + ops["client_edit"]["rru"] * edits + ops["due_client"]["rru"] * due
           + ops["escalation"]["rru"] * escalations + ops["reminder"]["rru"] * reminders
           + reminder_reads * 0.5 * CLIENT_KB / 4 + verifications * _units(CLIENT_KB, 4))
    wru = (ops["record_write"]["wru"] * (checkins + visits + reports) + ops["client_edit"]["wru"] * edits
           + ops["due_client"]["wru"] * due + ops["escalation"]["wru"] * escalations
           + ops["reminder"]["wru"] * reminders + verifications * ops["client_edit"]["wru"])

    cold_ms = RUNTIME_INIT_MS + bench["cold_import_ms"][0] * CPU_FACTOR_512MB
    restores = api * COLD_START_SHARE[scale.key]  # the API's new environments: SnapStart restores
    cold_starts = 3 * 30  # the daily scheduled runs (retention, reminders, the escalation run's first), cold
    invocations = api + 3 * 30 + math.ceil(escalations)  # the worker: about one batch per escalation
    lambda_ms = (api * API_WARM_MS + restores * SNAPSTART_RESTORE_MS + cold_starts * cold_ms
                 + due * RUN_MS_PER_DUE_CLIENT + escalations * WORKER_MS_PER_ESCALATION
                 + reminders * RUN_MS_PER_REMINDER)

    months_kept = RETENTION_YEARS * 12
    photo_gb_month = photos * PHOTO_MB / 1024
    record_items = checkins + visits + reports
    table_gb_month = (record_items * (2 * RECORD_KB + AUDIT_KB) + edits * AUDIT_KB
                      + escalations * 7 * SMALL_KB) / 1024 / 1024
    client_gb = c * CLIENT_KB * (1 + CLIENT_ALL_GSIS) / 1024 / 1024
    xray_sampled = min(api, XRAY_RESERVOIR_PER_SECOND * BUSY_SECONDS) + \
        XRAY_RATE * max(0.0, api - XRAY_RESERVOIR_PER_SECOND * BUSY_SECONDS)
    return {
        "api_requests": api, "reads": reads, "record_writes": record_items, "escalations": escalations,
        "sms": escalations * SMS_PARTS["escalation"], "emails": escalations * coordinators,
        "reminders": reminders, "reminder_sms": reminders * SMS_PARTS["reminder"],
        "verification_sms": verifications * SMS_PARTS["verification"],
        "waf_rules": waf_rules(), "waf_requests": api,
        "lambda_requests": invocations, "lambda_gb_seconds": lambda_ms / 1000 * LAMBDA_MEMORY_GB,
        "cold_starts": cold_starts, "cold_start_ms": cold_ms, "restores": restores,
        "snapstart_cache_gb_seconds": LAMBDA_MEMORY_GB * MONTH_SECONDS * SNAPSTART_CACHED_VERSIONS,
        "snapstart_restore_gb": restores * LAMBDA_MEMORY_GB,
        "rru": rru, "wru": wru,
        "ddb_gb_year1": client_gb + table_gb_month * 12, "ddb_gb_year5": client_gb + table_gb_month * months_kept,
        "s3_gb_year1": photo_gb_month * 12.07, "s3_gb_year5": photo_gb_month * (months_kept + 0.07),  # + 2 days pending
        "s3_put": photos * (1 + bench["photo_copy"][0]),
        "s3_get": photos * (bench["photo_head"][0] + bench["photo_get"][0]),
        "sqs_requests": escalations * 3 + SQS_IDLE_RECEIVES,
        "mau": scale.pks + coordinators + ADMINS,
        "alarms": alarm_count(),
        "log_gb": invocations * LOG_KB_PER_INVOCATION / 1024 / 1024,
        "xray_traces": xray_sampled,
    }


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float
    unit: str
    price_key: str

    def usd(self, free: bool) -> float:
        q = self.quantity
        if free:
            q = max(0.0, q - FREE.get(self.price_key, 0))
        return q * PRICES[self.price_key]


def lines(u: dict[str, float], year: int) -> list[Line]:
    ddb_gb, s3_gb = u[f"ddb_gb_year{year}"], u[f"s3_gb_year{year}"]
    return [
        Line("Lambda", "requests", u["lambda_requests"], "requests", "lambda_request"),
        Line("Lambda", "duration (512 MB, incl. cold starts and restores)", u["lambda_gb_seconds"], "GB-s",
             "lambda_gb_second"),
        Line("Lambda", "SnapStart snapshot cache (API function)", u["snapstart_cache_gb_seconds"], "GB-s",
             "snapstart_cache_gb_second"),
        Line("Lambda", "SnapStart restores (API function)", u["snapstart_restore_gb"], "GB",
             "snapstart_restore_gb"),
        Line("API Gateway", "REST requests", u["api_requests"], "requests", "apigw_rest_request"),
        Line("DynamoDB", "write request units", u["wru"], "WRU", "ddb_write_unit"),
        Line("DynamoDB", "read request units", u["rru"], "RRU", "ddb_read_unit"),
        Line("DynamoDB", f"storage (after year {year})", ddb_gb, "GB-month", "ddb_storage_gb"),
        Line("DynamoDB", f"point-in-time recovery (after year {year})", ddb_gb, "GB-month", "ddb_pitr_gb"),
        Line("S3", f"photo storage (after year {year})", s3_gb, "GB-month", "s3_storage_gb"),
        Line("S3", "PUT/COPY/POST", u["s3_put"], "requests", "s3_put_request"),
        Line("S3", "GET/HEAD", u["s3_get"], "requests", "s3_get_request"),
        Line("SNS", "SMS to Indonesia: escalation notices (Bhabinkamtibmas, village office, PK: "
             f"{SMS_PARTS['escalation']} parts in all)", u["sms"], "messages", "sms_indonesia"),
        Line("SNS", f"SMS to Indonesia: reminders ({SMS_PARTS['reminder']} parts each)", u["reminder_sms"],
             "message parts", "sms_indonesia"),
        Line("SNS", f"SMS to Indonesia: phone verification codes ({SMS_PARTS['verification']} parts each)",
             u["verification_sms"], "message parts", "sms_indonesia"),
        Line("SNS", "coordinator emails", u["emails"], "emails", "sns_email"),
        Line("SQS", "requests (incl. Lambda's idle long polls)", u["sqs_requests"], "requests", "sqs_request"),
        Line("Cognito", "monthly active users (Lite)", u["mau"], "MAU", "cognito_mau_lite"),
        Line("CloudWatch", "alarms", u["alarms"], "alarms", "cw_alarm"),
        Line("CloudWatch", "log ingestion", u["log_gb"], "GB", "cw_logs_ingest_gb"),
        Line("CloudWatch", "log storage (90 days)", u["log_gb"] * LOG_RETENTION_MONTHS, "GB-month",
             "cw_logs_storage_gb"),
        Line("X-Ray", "traces (prod stage)", u["xray_traces"], "traces", "xray_trace"),
        Line("WAF", "web ACL (API stage)", 1, "web ACL", "waf_web_acl"),
        Line("WAF", "rules", u["waf_rules"], "rules", "waf_rule"),
        Line("WAF", "requests inspected", u["waf_requests"], "requests", "waf_request"),
    ]


def _n(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:,.1f}"
    return f"{x:.3f}"


def _usd(x: float) -> str:
    return f"{x:,.2f}"


def totals(scale: Scale, bench: dict[str, Any] | None = None, year: int = 1) -> dict[str, float]:
    bench = bench or benchmark_figures()
    u = usage(scale, bench)
    ls = lines(u, year)
    return {"list": sum(line.usd(False) for line in ls), "free": sum(line.usd(True) for line in ls),
            "sms": sum(line.usd(False) for line in ls if line.price_key == "sms_indonesia")}


def render() -> str:
    bench = benchmark_figures()
    out = ["# Cost model", "",
           "<!-- GENERATED by `make cost` (python -m infra.cost --write): edit infra/cost.py, not this file. -->", "",
           "Monthly AWS cost of running Pantau in **ap-southeast-3 (Jakarta)**, computed by `infra/cost.py` from the "
           "prices, workload and per-request figures below. *List* is the on-demand price; *after free tier* "
           "subtracts the always-free monthly allowances of one AWS account (Lambda, SQS, Cognito Lite 10,000 MAU, "
           "DynamoDB 25 GB, 10 alarms, 5 GB logs, 100,000 traces), which apply once per account: a Bapas with its "
           "own account gets them, a national deployment gets them once.", ""]
    summary = ["| | one Bapas (1,200 clients, 30 PKs) | all of Indonesia (≈90 Bapas, 100,000 clients, 3,000 PKs) |",
               "|---|---|---|"]
    for year in (1, 5):
        t = [totals(s, bench, year) for s in SCALES]
        summary.append(f"| year {year}: list, USD/month | **{_usd(t[0]['list'])}** | **{_usd(t[1]['list'])}** |")
        summary.append(f"| year {year}: after free tier, USD/month | {_usd(t[0]['free'])} | {_usd(t[1]['free'])} |")
        summary.append(f"| year {year}: list, IDR/month | {t[0]['list'] * USD_TO_IDR:,.0f} | "
                       f"{t[1]['list'] * USD_TO_IDR:,.0f} |")
    t1 = [totals(s, bench, 1) for s in SCALES]
    per_client = t1[1]["list"] / SCALES[1].clients
    out += ["## Summary", "", *summary, "",
            f"Year 5 is the steady state: photos and records are kept {RETENTION_YEARS} years, then anonymised "
            f"(photos deleted). Nationally that is about **USD {per_client:.4f} per client per month** in year 1. "
            f"SMS is the largest variable item (USD {t1[1]['sms']:,.2f} of the national year-1 total): its price is "
            "set per message by Indonesian carriers and changes; everything else is small because the workload is "
            "small for serverless (a few requests per client per month).", ""]
    for scale in SCALES:
        u = usage(scale, bench)
        out += [f"## {scale.title}", "",
                f"{_n(u['api_requests'])} API requests/month ({_n(u['reads'])} reads, {_n(u['record_writes'])} field "
                f"records), {_n(u['escalations'])} escalations ({_n(u['sms'])} SMS), {_n(u['reminders'])} reminders "
                f"({_n(u['reminder_sms'])} SMS parts), {_n(u['restores'])} SnapStart "
                f"restores of the API function (~{SNAPSTART_RESTORE_MS} ms billed each) and {_n(u['cold_starts'])} "
                f"cold starts of the scheduled functions (~{u['cold_start_ms']:.0f} ms), {u['mau']:.0f} staff "
                "users.", "",
                "| service | item | quantity/month | unit price (USD) | list (USD) | after free tier (USD) |",
                "|---|---|---|---|---|---|"]
        for year in (1, 5):
            for line in lines(u, year):
                if year == 5 and "year" not in line.item:
                    continue
                price = PRICES[line.price_key]
                price_text = f"{price * 1e6:.4g} per million" if price < 0.001 else f"{price:.4g}"
                out.append(f"| {line.service} | {line.item} | {_n(line.quantity)} {line.unit} | {price_text} | "
                           f"{_usd(line.usd(False))} | {_usd(line.usd(True))} |")
        y1, y5 = totals(scale, bench, 1), totals(scale, bench, 5)
        out += [f"| **total** | year 1 | | | **{_usd(y1['list'])}** | **{_usd(y1['free'])}** |",
                f"| **total** | year 5 | | | **{_usd(y5['list'])}** | **{_usd(y5['free'])}** |", ""]
    ops = per_operation(bench)
    out += ["## Per request", "",
            "| operation | DynamoDB RRU | DynamoDB WRU |", "|---|---|---|"]
    labels = {"record_write": "PUT check-in / visit / progress report", "read": "an API read (40 % lists of 25, "
              "60 % client detail)", "client_edit": "client registration or change",
              "due_client": "daily run, per due client", "escalation": "worker, per escalation",
              "reminder": "reminder run, per reminder"}
    for key, label in labels.items():
        out.append(f"| {label} | {ops[key]['rru']:.1f} | {ops[key]['wru']:.0f} |")
    net = []
    for u in usage(SCALES[0], bench), usage(SCALES[1], bench):
        cache = u["snapstart_cache_gb_seconds"] * PRICES["snapstart_cache_gb_second"]
        restores = u["snapstart_restore_gb"] * PRICES["snapstart_restore_gb"]
        unbilled = (u["restores"] * (u["cold_start_ms"] - SNAPSTART_RESTORE_MS) / 1000 * LAMBDA_MEMORY_GB
                    * PRICES["lambda_gb_second"])  # the INIT duration new environments no longer pay
        net.append((cache, restores, unbilled, cache + restores - unbilled, u))
    out += ["## SnapStart", "",
            "The API function runs with Lambda SnapStart (python3.12, `infra/template.py`): a PK's first request "
            f"on a new execution environment meets a restore (~{SNAPSTART_RESTORE_MS} ms billed: the runtime and the "
            f"after-restore hook) instead of a cold start of ~{net[0][4]['cold_start_ms']:.0f} ms (the runtime plus "
            "the import at 512 MB). It is bought for the latency the officers meet, not to save money:", "",
            "| | one Bapas | all of Indonesia |", "|---|---|---|",
            f"| snapshot cache ({SNAPSTART_CACHED_VERSIONS} active versions x {LAMBDA_MEMORY_GB:g} GB, all month) | "
            f"{_usd(net[0][0])} | {_usd(net[1][0])} |",
            f"| restores ({_n(net[0][4]['restores'])} / {_n(net[1][4]['restores'])} a month) | {_usd(net[0][1])} | "
            f"{_usd(net[1][1])} |",
            f"| cold-start duration no longer billed | -{_usd(net[0][2])} | -{_usd(net[1][2])} |",
            f"| **SnapStart, net, USD/month** | **{_usd(net[0][3])}** | **{_usd(net[1][3])}** |", "",
            "The cache costs the same for a Bapas of 100 clients or 100,000: a deployment per Bapas pays it per "
            "Bapas, a national deployment once. A restore costs more than the INIT duration it replaces at these "
            "prices, so the line grows with new environments (idle gaps). Turning SnapStart off is one line: remove "
            "`SnapStart` from the API function in `infra/template.py` (the runtime hooks then never run).", ""]
    out += ["", "Figures taken from the benchmarks (or assumed where they say nothing):", ""]
    for key, (value, source) in bench.items():
        out.append(f"- `{key}` = {value} ({source})")
    out += ["", "## Assumptions", "",
            "Prices (USD, ap-southeast-3, on-demand). These are the author's figures at the time of writing, not "
            "fetched from the AWS Price List: verify them on the AWS pricing pages (or with `aws pricing "
            "get-products`) before budgeting, change them in `infra/cost.py` and run `make cost`. The SMS price "
            "especially changes with Indonesian carrier fees.", ""]
    out += [f"- `{k}` = {v:.10g}" for k, v in PRICES.items()]
    out += ["", "Workload and sizes (edit the constants at the top of `infra/cost.py`):", ""]
    constants = {k: v for k, v in globals().items() if k.isupper() and isinstance(v, int | float) and k not in
                 ("USD_TO_IDR",)}
    out += [f"- `{k}` = {round(v, 4) if isinstance(v, float) else v}" for k, v in constants.items()]
    national = usage(SCALES[1], bench)
    per_ten_points = national["reminder_sms"] * PRICES["sms_indonesia"] / REMINDED_SHARE_OF_WINDOWS * 0.1
    out += ["", "Not counted: KMS requests for the SNS topics' AWS-managed key and DynamoDB's (a few cents), "
            "EventBridge schedules (free), data transfer out (API responses are small JSON; photos are uploaded, not "
            "downloaded, except through short-lived presigned GETs), CloudFormation (free), and the AWS Support plan.",
            "",
            f"Reminders are the largest item wherever clients often leave their check-in to the last two days: "
            f"every reminder is {SMS_PARTS['reminder']} SMS parts (the text names the Bapas, the PK, the PK's "
            "number and the last day, politely: 250-280 GSM-7 characters), each billed as one SMS. A one-part "
            "reminder (at most 160 GSM-7 characters) would halve that line; a `reminder_days_before` of 1 would "
            "remind fewer clients, later. The share of windows reminded (`REMINDED_SHARE_OF_WINDOWS`, "
            f"{REMINDED_SHARE_OF_WINDOWS:.0%}) is an assumption until the RemindersSent metric says otherwise: "
            f"every 10 points of it are USD {per_ten_points:,.0f} a month nationally.",
            "",
            "What would change the picture: SMS volume (a higher escalation rate, more clients reminded), "
            "photo size and count (storage grows for five years), and heavier dashboard use (each list read "
            "is ~5 RRU). The coordinators topic sends every escalation to every subscriber: nationally, until "
            "messages carry a `bapas_id` attribute for subscription filter policies, coordinators would receive "
            "other Bapas' escalations (and the email count above assumes exactly that).", ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = render()
    print(text)
    if "--write" in argv:
        DOC.write_text(text)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
