"""Progress reports, the coordinators' compliance report and client timeline, and the dashboard page."""

from functools import lru_cache
from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.api.records import record_saved
from chalicelib.config import settings
from chalicelib.domain.compaction import KEEP_DAYS
from chalicelib.domain.compliance import State
from chalicelib.domain.timeutil import now_utc
from chalicelib.http import (
    PAGING,
    QueryParam,
    body_model,
    json_response,
    principal,
    query_params,
    route,
)
from chalicelib.paging import page_params
from chalicelib.schemas.refs import Text, models
from chalicelib.services import records, reports

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).

(
    ComplianceReportOut,
    ConfigOut,
    ProgressReportBody,
    ProgressReportList,
    ProgressReportOut,
    TimelineOut,
) = models(
    "reports",
    "ComplianceReportOut",
    "ConfigOut",
    "ProgressReportBody",
    "ProgressReportList",
    "ProgressReportOut",
    "TimelineOut",
)

bp = Blueprint(__name__)

WRITERS = ["pk", "coordinator"]
READERS = ["coordinator", "admin"]
DAY = {"type": "string", "format": "date"}
STATIC = Path(__file__).resolve().parent.parent / "static"


@route(bp, "/v1/clients/{client_id}/progress-reports/{record_id}", methods=["PUT"], roles=WRITERS,
       request=ProgressReportBody, response=ProgressReportOut, status=(201, 200), errors=(409,),
       headers=("ETag", "Location"))
def put_progress_report(client_id, record_id):
    """Record a progress report (Laporan Perkembangan Pembimbingan) offline-safe: 201, 200 on a replay, 409.

    Same semantics as a check-in PUT: one TransactWriteItems writes the record (only if its id is new), its
    audit entry and the report's fact appended to the client item (`progress_reports`), which the due rule
    (`chalicelib/domain/progress.py`) and the compliance report read without reading any record.
    """
    record_id = records.parse_record_id(record_id)
    body = body_model(bp.current_request, ProgressReportBody)
    saved = records.put_progress_report(principal(), client_id, record_id, body, now_utc())
    return record_saved(saved, "progress-reports")


@route(bp, "/v1/clients/{client_id}/progress-reports", response=ProgressReportList, query=PAGING)
def list_progress_reports(client_id):
    """List a client's progress reports, newest submission first.

    Served by the records table's `kind-time-index` LSI (one Query a page).
    """
    params = query_params(bp.current_request)
    return json_response(records.list_records(principal(), client_id, records.PROGRESS, page_params(params)))


@route(bp, "/v1/reports/compliance", roles=READERS, headers=("Content-Disposition",),
       response=(ComplianceReportOut, Text(media_type="text/csv", description="With Accept: text/csv or ?format=csv")),
       query=(QueryParam("from", "First local date (default: 29 days before `to`)", DAY),
              QueryParam("to", "Last local date (default: today in the Bapas time zone); at most "
                                f"{KEEP_DAYS} days ago: older check-ins are kept per window, not per day", DAY),
              QueryParam("officer", "Only this PK's row", {"type": "string"}),
              QueryParam("format", "csv: the same as `Accept: text/csv`", {"type": "string", "enum": ["json", "csv"]}),
              QueryParam("bapas_id", "admin only: the Bapas to read; without it admin reads the national view",
                         {"type": "string"})))
def compliance_report():
    """Compliance and workload per PK and for the Bapas (coordinators; admin: national, or one Bapas).

    National view (`admin` without `bapas_id`): one row per Bapas in `bapas` (the same columns; each row equals
    that Bapas's totals) and the national total in `totals`. The Bapas are listed by one Query of the bapas
    table's `registry-index` GSI (partition `bapas`); each Bapas's numbers come from the indexes below.

    Per PK: caseload, clients by compliance state, check-in windows expected vs done in [from, to], home
    visits, open escalations, overdue progress reports and the median days to resolve an escalation; plus the
    Bapas totals. With `Accept: text/csv` (or `?format=csv`) the same numbers as `text/csv; charset=utf-8`,
    UTF-8 with a BOM, Indonesian column names, one row per PK (per Bapas) and a TOTAL row.

    Indexes (never a Scan): clients `bapas-index` GSI (`officer-index` with `?officer=`), whose items carry
    their compliance and progress-report facts; escalations `bapas-state-index` GSI (the open ones) and the
    sparse `bapas-resolved-index` GSI (resolved since `from`). Requests grow with the Bapas's 1 MB pages of
    client items, not with its number of check-ins.
    """
    request = bp.current_request
    params = query_params(request)
    report = reports.compliance_report(principal(), params, now_utc())
    accept = (request.headers.get("accept") or "").lower()
    if params.get("format") == "csv" or (params.get("format") != "json" and "text/csv" in accept):
        return Response(body=reports.report_csv(report), status_code=200, headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{reports.csv_filename(report)}"'})
    return json_response(report)


@route(bp, "/v1/clients/{client_id}/timeline", roles=READERS, response=TimelineOut, query=PAGING)
def client_timeline(client_id):
    """A client's check-ins, visits, progress reports, escalations and changes, newest first, paged.

    Merges three newest-first Queries: the records table's `time-index` LSI (records of every kind by time),
    the escalations table's `client-index` GSI and the client's partition of the audit table.
    """
    params = query_params(bp.current_request)
    return json_response(reports.timeline(principal(), client_id, page_params(params)))


@route(bp, "/v1/config", public=True, response=ConfigOut)
def public_config():
    """What the dashboard needs to log in: the Cognito endpoint and the app client id (public values)."""
    s = settings()
    return json_response({"region": s.region, "user_pool_client_id": s.user_pool_client_id,
                          "cognito_url": _cognito_url(), "states": [st.value for st in State]})


def _cognito_url() -> str:
    """Where the dashboard logs in: Cognito's regional endpoint (the local stack's emulator when run locally)."""
    s = settings()
    return s.endpoint_url.rstrip("/") + "/" if s.endpoint_url else f"https://cognito-idp.{s.region}.amazonaws.com/"


@lru_cache(maxsize=1)
def _dashboard_html() -> str:
    return (STATIC / "dashboard.html").read_text(encoding="utf-8")


@route(bp, "/dashboard", public=True, tag="dashboard", response=Text(media_type="text/html"))
def dashboard():
    """The coordinators' dashboard: one static HTML page (inline CSS and JS, nothing from the internet).

    It logs in with Cognito `InitiateAuth` (USER_PASSWORD_AUTH) at the `cognito_url` of `GET /v1/config`
    and calls this API with the ID token.
    """
    return Response(body=_dashboard_html(), status_code=200, headers={
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
        "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                   f"connect-src 'self' {_cognito_url()}; img-src 'self' data:; "
                                   "frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff"})
