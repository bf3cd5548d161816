"""Coordinator insight: the compliance and workload report per PK, and a client's timeline.

Both are served from indexes, never a Scan:

- the compliance report reads the Bapas's clients from the clients table's `report-index` GSI (one PK's with
  `?officer=`: its range key `officer_key`), which projects only what the report needs: each client's compliance
  facts of the last `KEEP_DAYS` (`contacts`), the bounded view of its compacted windows (`report_summary`,
  domain/compaction.py `ReportView`), its progress-report and stage-review facts, appended by the records' own
  transactions, so no record is read.
  Escalations come from the escalations table: the open ones from `bapas-state-index` (`open#...`), the ones
  resolved since the range's start from the sparse `bapas-resolved-index`. Requests: one per 1 MB page of the
  Bapas's projected client items, plus one per page of open and of recently resolved escalations (one each,
  usually): they grow with the size of the Bapas, not with how long or how often its clients were seen.
- the timeline merges three newest-first queries: the records table's `time-index` LSI (every check-in,
  visit and progress report of the client by time), the escalations table's `client-index` GSI, and the
  client's audit entries (`client#<id>` partition of the audit table: registration and changes).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.access import reads_national_view, scoped_bapas
from chalicelib.adapters.tables import AuditModel, ClientModel, EscalationModel, RecordModel, record_time_key
from chalicelib.auth import Principal
from chalicelib.domain import compaction, progress, workload
from chalicelib.domain import compliance as rules
from chalicelib.domain.clients import local_today
from chalicelib.domain.timeutil import from_key_time, parse_rfc3339, to_rfc3339
from chalicelib.domain.workload import Fact
from chalicelib.errors import FieldError, field_error, validation_failed
from chalicelib.paging import Page, encode_cursor
from chalicelib.services.clients import (
    client_entity,
    load_client,
    period_bounds,
    reviews_of,
    schedule_of,
)
from chalicelib.services.common import BAPAS
from chalicelib.services.names import officer_name

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
STATES = tuple(s.value for s in rules.State)


# ----- compliance report ---------------------------------------------------------------------------

@dataclass
class _Row:
    officer: str | None
    clients: int = 0
    by_state: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    expected: int = 0
    done: int = 0
    visits: int = 0
    open_escalations: int = 0
    overdue: int = 0
    overdue_reviews: int = 0
    resolve_days: list[float] = field(default_factory=list)

    def add(self, other: _Row) -> None:
        self.clients += other.clients
        for k, v in other.by_state.items():
            self.by_state[k] += v
        self.expected += other.expected
        self.done += other.done
        self.visits += other.visits
        self.open_escalations += other.open_escalations
        self.overdue += other.overdue
        self.overdue_reviews += other.overdue_reviews
        self.resolve_days += other.resolve_days

    def to_api(self) -> dict[str, Any]:
        return {
            "officer": self.officer,
            "caseload": self.clients - self.by_state["ended"],
            "clients": self.clients,
            "clients_by_state": dict(self.by_state),
            "checkins_expected": self.expected,
            "checkins_done": self.done,
            "checkin_rate": round(self.done / self.expected, 3) if self.expected else None,
            "home_visits": self.visits,
            "open_escalations": self.open_escalations,
            "overdue_progress_reports": self.overdue,
            "overdue_stage_reviews": self.overdue_reviews,
            "escalations_resolved": len(self.resolve_days),
            "median_days_to_resolve": round(_median(self.resolve_days), 1) if self.resolve_days else None,
        }


def _median(values: list[float]) -> float:
    import statistics  # (and fractions, decimal with it) on the first report only: not part of the cold import

    return statistics.median(values)


EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # as `Day` in the request bodies


def _day_param(params: dict[str, str], name: str, default: date) -> date:
    raw = params.get(name)
    if not raw:
        return default
    value = date.fromisoformat(raw)  # a date: the route's declared `format: date` (http.query_params)
    if not EARLIEST_DAY <= value <= LATEST_DAY:  # `to=0001-01-01` minus 29 days was an OverflowError (a 500)
        raise field_error(name, f"must lie between {EARLIEST_DAY} and {LATEST_DAY}")
    return value


def report_range(params: dict[str, str], today: date) -> tuple[date, date]:
    to = _day_param(params, "to", today)
    first = _day_param(params, "from", to - timedelta(days=DEFAULT_RANGE_DAYS - 1))
    if first > to:
        raise validation_failed([FieldError("from", "must not be after to")])
    if (to - first).days + 1 > MAX_RANGE_DAYS:
        raise validation_failed([FieldError("from", f"the range may cover at most {MAX_RANGE_DAYS} days")])
    if to < today - timedelta(days=compaction.KEEP_DAYS):
        # Facts of windows closed longer ago are kept per window (domain/compaction.py): a report ending
        # earlier could not tell what was known on its last day.
        raise validation_failed([FieldError("to", f"must be within the last {compaction.KEEP_DAYS} days")])
    return first, to




def compliance_report(p: Principal, params: dict[str, str], now: datetime) -> dict[str, Any]:
    """The Bapas view (one row per PK and the Bapas total); for admin without `bapas_id`, the national view."""
    if reads_national_view(p, params.get("bapas_id")):
        return national_report(params, now)
    bapas_id = scoped_bapas(p, params.get("bapas_id"))
    officer = params.get("officer") or None
    tally = _tally_bapas(bapas_id, params, now, officer)
    rows = tally.rows
    if officer and officer not in rows:
        rows[officer] = _Row(officer)
    return {
        "scope": "bapas",
        "bapas_id": bapas_id,
        "bapas_name": BAPAS.name(bapas_id),
        "timezone": BAPAS.timezone(bapas_id),
        "from": tally.first.isoformat(),
        "to": tally.last.isoformat(),
        "as_of": to_rfc3339(tally.as_of),
        "officer": officer,
        "officers": [_with_name(rows[k].to_api()) for k in sorted(rows)],
        "bapas": None,
        "totals": tally.totals.to_api(),
    }


def national_report(params: dict[str, str], now: datetime) -> dict[str, Any]:
    """One row per Bapas (the same columns as a Bapas's total row) and the national total.

    The Bapas come from the bapas table's `registry-index` GSI (one Query); each Bapas's numbers are its own
    report's (same indexes, same rules, its own time zone for `from`/`to`), so a row equals that Bapas's
    totals. The national medians are of every resolution in the country, not a median of medians.
    """
    if params.get("officer"):
        raise field_error("officer", "applies to one Bapas: give bapas_id too")
    rows, national = [], _Row(None)
    first = last = as_of = None
    for bapas in BAPAS.all():
        tally = _tally_bapas(bapas.bapas_id, params, now, None)
        national.add(tally.totals)
        rows.append({**tally.totals.to_api(), "bapas_id": bapas.bapas_id, "bapas_name": bapas.name})
        first, last = first or tally.first, last or tally.last
        as_of = max(as_of, tally.as_of) if as_of else tally.as_of
    if first is None:  # no Bapas registered yet
        first, last = report_range(params, local_today(now, "Asia/Jakarta"))
        as_of = now
    return {
        "scope": "national",
        "bapas_id": None,
        "bapas_name": None,
        "timezone": None,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "as_of": to_rfc3339(as_of),
        "officer": None,
        "officers": [],
        "bapas": rows,
        "totals": national.to_api(),
    }


def _with_name(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "officer_name": officer_name(row["officer"]) if row["officer"] else None}


@dataclass
class _Tally:
    first: date
    last: date
    as_of: datetime
    rows: dict[str, _Row]
    totals: _Row


def _tally_bapas(bapas_id: str, params: dict[str, str], now: datetime, officer: str | None) -> _Tally:
    tz = BAPAS.timezone(bapas_id)
    zone = ZoneInfo(tz)
    first, last = report_range(params, local_today(now, tz))
    range_opens = datetime.combine(first, time(0), zone)
    as_of = min(now, datetime.combine(last + timedelta(days=1), time(0), zone))

    # The report-index projects only what the report reads (tables.REPORT_ATTRIBUTES): its 1 MB pages hold the
    # same number of clients whatever their history (compacted windows as their bounded `report_summary`).
    condition = ClientModel.officer_key == f"{bapas_id}#{officer}" if officer else None
    rows: dict[str, _Row] = {}
    officer_of: dict[str, str] = {}
    for item in ClientModel.report_index.query(bapas_id, condition):
        row = rows.setdefault(item.officer, _Row(item.officer))
        officer_of[item.client_id] = item.officer
        row.clients += 1
        schedule = schedule_of(item, tz)
        view = compaction.ReportView.decode(item.report_summary)
        facts = view.facts(schedule) + [Fact.parse(f) for f in item.contacts or []]
        state = rules.evaluate(schedule, [rules.Contact(f.at, f.kind) for f in facts], as_of,
                               from_window=view.first, streak_before=view.streak).state
        row.by_state[state.value] += 1
        t = workload.tally(schedule, facts, first, last, as_of)
        row.expected += t.checkins_expected
        row.done += t.checkins_done
        row.visits += t.home_visits
        start, end = period_bounds(item)  # the current period's (a program change begins a new one)
        reports = progress.view_reports(start, end, item.progress_summary)
        row.overdue += progress.evaluate(start, end, reports, as_of, local_today(as_of, tz)).overdue
        row.overdue_reviews += reviews_of(item, tz, as_of).overdue

    def row_for(e: EscalationModel) -> _Row | None:
        who = officer_of.get(e.client_id, e.officer)  # the client's PK now; the one it opened for if unknown
        if officer and who != officer:
            return None
        return rows.setdefault(who, _Row(who))

    opened_before = to_rfc3339(as_of)
    for e in EscalationModel.bapas_index.query(bapas_id, EscalationModel.state_opened.startswith("open#")):
        if e.opened_at < opened_before and (row := row_for(e)) is not None:
            row.open_escalations += 1
    for e in EscalationModel.resolved_index.query(bapas_id, EscalationModel.resolved_at >= to_rfc3339(range_opens)):
        row = row_for(e)
        if row is None:
            continue
        resolved = parse_rfc3339(e.resolved_at)
        if resolved < as_of:
            row.resolve_days.append((resolved - parse_rfc3339(e.opened_at)).total_seconds() / 86400)
        elif e.opened_at < opened_before:
            row.open_escalations += 1  # resolved after the range, so still open at its end

    totals = _Row(None)
    for row in rows.values():
        totals.add(row)
    return _Tally(first, last, as_of, rows, totals)


CSV_COLUMNS = (
    ("Beban kasus (klien aktif)", lambda r: r["caseload"]),
    ("Jumlah klien", lambda r: r["clients"]),
    ("Patuh", lambda r: r["clients_by_state"]["compliant"]),
    ("Jatuh tempo", lambda r: r["clients_by_state"]["due"]),
    ("Terlewat", lambda r: r["clients_by_state"]["missed"]),
    ("Tidak dapat dihubungi", lambda r: r["clients_by_state"]["unreachable"]),
    ("Selesai", lambda r: r["clients_by_state"]["ended"]),
    ("Lapor diri diharapkan", lambda r: r["checkins_expected"]),
    ("Lapor diri terlaksana", lambda r: r["checkins_done"]),
    ("Kunjungan rumah", lambda r: r["home_visits"]),
    ("Eskalasi terbuka", lambda r: r["open_escalations"]),
    ("Laporan perkembangan terlambat", lambda r: r["overdue_progress_reports"]),
    ("Litmas dan sidang TPP tahap terlambat", lambda r: r["overdue_stage_reviews"]),
    ("Eskalasi diselesaikan", lambda r: r["escalations_resolved"]),
    ("Median hari penyelesaian eskalasi", lambda r: r["median_days_to_resolve"]),
)


# A cell a spreadsheet would read as a formula (`=HYPERLINK(...)`, `+cmd|...`, `@SUM(...)`, or those behind a
# tab or carriage return): `?officer=` is echoed into the PK column, so text cells are neutralised.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A text cell that starts like a formula gets a leading apostrophe (shown as text, never evaluated)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV for a spreadsheet: UTF-8 with BOM, one row per PK (per Bapas in the national view)
    and a TOTAL row, CRLF lines."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    national = report["scope"] == "national"
    if national:
        heads, rows = ("Bapas", "Nama Bapas"), [(r["bapas_id"], r["bapas_name"], r) for r in report["bapas"]]
    else:
        heads, rows = ("PK", "Nama PK"), [(r["officer"], r["officer_name"], r) for r in report["officers"]]
    writer.writerow([*heads, *(name for name, _ in CSV_COLUMNS)])
    for key, name, row in [*rows, ("TOTAL", "", report["totals"])]:
        writer.writerow([csv_cell(key), csv_cell(name), *(csv_cell(get(row)) for _, get in CSV_COLUMNS)])
    return "\ufeff" + buf.getvalue()


def csv_filename(report: dict[str, Any]) -> str:
    return f"kepatuhan-{report['bapas_id'] or 'nasional'}-{report['from']}-{report['to']}.csv"


# ----- timeline -------------------------------------------------------------------------------------

def _entry(at: datetime, kind: str, entry_id: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    key = record_time_key(at, kind, entry_id)  # the records' own time_key: one order for every source
    return key, {"at": to_rfc3339(at), "kind": kind, "id": entry_id, "data": data}


def _escalation_data(e: EscalationModel) -> dict[str, Any]:
    return {"id": e.escalation_id, "reason": e.reason, "state": e.state, "opened_at": e.opened_at,
            "consecutive_missed": int(e.consecutive_missed), "officer": e.officer, "resolved_at": e.resolved_at,
            "resolved_by": e.resolved_by, "resolution": e.resolution}


def _audit_data(a: AuditModel) -> dict[str, Any]:
    return {"action": a.action, "actor": a.actor, "role": a.role, "fields": list(a.fields or []),
            "version": int(a.version) if a.version is not None else None}


def _timeline_cursor(cursor: dict[str, Any] | None) -> tuple[str, datetime] | None:
    if cursor is None:
        return None
    key = cursor.get("before")
    if set(cursor) != {"before"} or not isinstance(key, str) or key.count("#") < 2:
        raise field_error("cursor", "does not belong to this query")
    try:
        at = from_key_time(key.split("#", 1)[0])
    except ValueError:
        raise field_error("cursor", "does not belong to this query") from None
    return key, at


def timeline(p: Principal, client_id: str, page: Page) -> dict[str, Any]:
    """Every record, escalation and change of the client, newest first; `limit` entries a page.

    Entries are ordered by `"<UTC time>#<kind>#<id>"` (descending); the cursor is the key of the last entry
    given. Each source is queried for at most `limit + 1` entries before the cursor, so an entry left out of
    this page can never sort before one given in it.
    """
    load_client(p, client_id)
    bound = _timeline_cursor(page.cursor)
    n = page.limit + 1
    found: list[tuple[str, dict[str, Any]]] = []

    condition = RecordModel.time_key < bound[0] if bound else None
    for r in RecordModel.all_time_index.query(client_id, condition, scan_index_forward=False, limit=n, page_size=n):
        kind, record_id = r.record_key.split("#", 1)
        at = from_key_time(r.time_key.split("#", 1)[0])
        found.append(_entry(at, kind, record_id, json.loads(r.response)))

    # Audit sort keys are "<RFC 3339 UTC>#<uuid>": bound them by time (inclusive), then by the full key below.
    condition = AuditModel.at_id <= f"{to_rfc3339(bound[1])}#~" if bound else None
    for a in AuditModel.query(client_entity(client_id), condition, scan_index_forward=False, limit=n + 5,
                              page_size=n + 5):
        at_text, audit_id = a.at_id.split("#", 1)
        found.append(_entry(parse_rfc3339(at_text), "change", audit_id, _audit_data(a)))

    for e in EscalationModel.client_index.query(client_id, scan_index_forward=False):  # a handful per client
        found.append(_entry(parse_rfc3339(e.opened_at), "escalation", e.escalation_id, _escalation_data(e)))

    if bound:
        found = [f for f in found if f[0] < bound[0]]
    found.sort(key=lambda f: f[0], reverse=True)
    items = found[:page.limit]
    more = len(found) > page.limit
    return {"items": [entry for _, entry in items],
            "next_cursor": encode_cursor({"before": items[-1][0]}) if more and items else None}

