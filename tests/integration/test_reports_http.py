"""The compliance report over HTTP against the local stack with its seeded history, checked against numbers
recomputed here from the raw tables (records, escalations, clients read directly from the emulator) with
plain Python: none of the app's rule or report code is used for the expected values."""

from __future__ import annotations

import calendar
import csv
import io
import math
import statistics
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from boto3.dynamodb.types import TypeDeserializer
from lokal.holidays import HOLIDAY_YEARS, holidays_on

from tests.support import assert_problem

PREFIX = "pantau-dev"
_des = TypeDeserializer()


# ----- raw tables -------------------------------------------------------------------------------------------

def _scan(stack: Any, table: str) -> list[dict[str, Any]]:
    """The test may Scan (the app may not): every item of a table, plain Python values."""
    ddb = stack.boto("dynamodb")
    items, kwargs = [], {"TableName": f"{PREFIX}-{table}", "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        items += [{k: _des.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plus_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ----- the rules, restated independently ----------------------------------------------------------------

def _windows(start: date, end: date, interval: int) -> list[tuple[date, date]]:
    out, first = [], start
    while first <= end:
        out.append((first, min(first + timedelta(days=interval - 1), end)))
        first += timedelta(days=interval)
    return out


def _windows_of(c: dict, start: date, end: date, tracking: date) -> tuple[list[tuple[date, date]], list[bool]]:
    """The windows of the cadence history (`schedule`: from each entry's date on, windows of its interval), and
    whether each can be missed: not when it opens before tracking began, not when a later change cut it short
    (unless the period before the change already ended on that day), not when it ended before the change that
    made it was recorded."""
    entries = sorted(c.get("schedule") or [{"from": c["supervision_start"],
                                            "checkin_interval_days": c["checkin_interval_days"]}],
                     key=lambda e: e["from"])
    first = [e for e in entries if date.fromisoformat(e["from"]) <= start]
    segments = [(start, int((first[-1] if first else entries[0])["checkin_interval_days"]), start, None)]
    segments += [(date.fromisoformat(e["from"]), int(e["checkin_interval_days"]),
                  max(date.fromisoformat(e.get("changed_on") or e["from"]), date.fromisoformat(e["from"])),
                  date.fromisoformat(e["previous_end"]) if e.get("previous_end") else None)
                 for e in entries if start < date.fromisoformat(e["from"]) <= end]
    windows, missable = [], []
    for i, (seg_first, k, made, _) in enumerate(segments):
        seg_last = segments[i + 1][0] - timedelta(days=1) if i + 1 < len(segments) else end
        cap = segments[i + 1][3] if i + 1 < len(segments) else None
        for a, b in _windows(seg_first, seg_last, k):
            natural = a + timedelta(days=k - 1)
            if cap is not None:
                natural = min(natural, cap)
            cut = seg_last != end and natural > seg_last
            windows.append((a, b))
            missable.append(a >= tracking and not cut and min(natural, seg_last) >= made)
    return windows, missable


def _expected_client(c: dict, records: list[dict], tz: ZoneInfo, first: date, last: date, as_of: datetime) -> dict:
    start, end = date.fromisoformat(c["supervision_start"]), date.fromisoformat(c["supervision_end"])
    midnight = lambda d: datetime.combine(d, time(0), tz)  # noqa: E731
    local = lambda t: t.astimezone(tz).date()  # noqa: E731
    counted, excused, inactive, visits = [], [], [], 0
    for r in records:
        d = r["data"]
        if r["kind"] == "checkin":
            at = _t(d["occurred_at"])
            if at <= as_of:
                {"completed": counted, "excused": excused, "number_inactive": inactive}.get(d["outcome"], []).append(at)
        elif r["kind"] == "visit":
            at = _t(d["visited_at"])
            if at <= as_of:
                visits += first <= local(at) <= last
                if d["client_present"]:
                    counted.append(at)
    # A number the SMS provider reported undeliverable is dead from then on, like a `number_inactive` outcome
    # (another test on the shared stack simulates one for a client of this Bapas).
    inactive += [_t(p["inactive_at"]) for p in c.get("phones") or [] if p.get("inactive_at")
                 and _t(p["inactive_at"]) <= as_of]
    tracking = date.fromisoformat(c["tracking_from"]) if c.get("tracking_from") else local(_t(c["created_at"]))
    windows, missable = _windows_of(c, start, end, tracking)
    met = [any(a <= local(t) <= b for t in counted) for a, b in windows]
    # A window that cannot be missed (before tracking, cut short by a cadence change) counts like an excused one
    # for the streak and the expected check-ins, unless a contact meets it.
    excused_w = [any(a <= local(t) <= b for t in excused) for a, b in windows]
    exc = [e or not m for e, m in zip(excused_w, missable, strict=True)]
    closed = [midnight(b + timedelta(days=1)) <= as_of for _, b in windows]

    expected = done = 0
    for i, (a, b) in enumerate(windows):
        if a <= last and b >= first:
            done += met[i]
            expected += met[i] or (closed[i] and not exc[i])

    # State at as_of.
    if as_of >= midnight(end + timedelta(days=1)):
        state = "ended"
    elif as_of < midnight(start):
        state = "due"
    else:
        current = next(i for i, (a, b) in enumerate(windows) if a <= local(as_of) <= b)
        streak, third = 0, None
        for i in range(current):
            if met[i]:
                streak, third = 0, None
            elif not exc[i]:
                streak += 1
                third = i if streak == 3 else third
        if met[current]:
            streak, third = 0, None
        latest = max(counted, default=None)
        in_period = [t for t in inactive if midnight(start) <= t < midnight(end + timedelta(days=1))]
        silent = [t for t in in_period if latest is None or t > latest]
        if third is not None or silent:
            state = "unreachable"
        elif streak:
            state = "missed"
        elif not (met[current] or excused_w[current]):
            state = "due"
        else:
            state = "compliant"

    # Progress reports: whole months within each third of the supervision (a last one shorter than half its
    # month joins the one before), due on their last date or the next working day (lokal's calendar).
    n = (end - start).days + 1
    reports = [(date.fromisoformat(r["data"]["period_start"]), date.fromisoformat(r["data"]["period_end"]))
               for r in records if r["kind"] == "progress_report" and _t(r["data"]["submitted_at"]) <= as_of]
    overdue = 0
    for k in range(3):
        s_first, s_last = start + timedelta(days=math.ceil(k * n / 3)), start + timedelta(
            days=math.ceil((k + 1) * n / 3) - 1)
        periods: list[list[date]] = []
        m = 0
        while (p := _plus_months(s_first, m)) <= s_last:
            month_end = _plus_months(s_first, m + 1) - timedelta(days=1)
            last = min(month_end, s_last)
            if periods and last < month_end and (last - p).days + 1 < ((month_end - p).days + 1) / 2:
                periods[-1][1] = last
            else:
                periods.append([p, last])
            m += 1
        for p, last in periods:
            due = last
            while due.weekday() >= 5 or (due.year in HOLIDAY_YEARS and holidays_on(due)):
                due += timedelta(days=1)
            if due < local(as_of) and not any(a <= last and b >= p for a, b in reports):
                overdue += 1
    # Stage reviews: one per third, due on the stage's last date or the next working day, met by a review of
    # that stage recorded by as_of.
    reviewed = {r["data"]["stage"] for r in records
                if r["kind"] == "stage_review" and _t(r["created_at"]) <= as_of}
    overdue_reviews = 0
    for k, stage in enumerate(("awal", "lanjutan", "akhir")):
        due = start + timedelta(days=math.ceil((k + 1) * n / 3) - 1)
        while due.weekday() >= 5 or (due.year in HOLIDAY_YEARS and holidays_on(due)):
            due += timedelta(days=1)
        if due < local(as_of) and stage not in reviewed:
            overdue_reviews += 1
    return {"state": state, "expected": expected, "done": done, "visits": visits, "overdue": overdue,
            "overdue_reviews": overdue_reviews}


def expected_report(stack: Any, bapas_id: str, first: date, last: date, as_of: datetime) -> dict[str, dict]:
    tz = ZoneInfo(next(b["timezone"] for b in _scan(stack, "bapas") if b["bapas_id"] == bapas_id))
    clients = [c for c in _scan(stack, "clients") if c["bapas_id"] == bapas_id]
    records: dict[str, list[dict]] = defaultdict(list)
    for r in _scan(stack, "records"):
        records[r["client_id"]].append(r)
    rows: dict[str, dict] = defaultdict(lambda: {"clients": 0, "states": defaultdict(int), "expected": 0, "done": 0,
                                                 "visits": 0, "overdue": 0, "overdue_reviews": 0, "open": 0,
                                                 "days": []})
    officer_of = {}
    for c in clients:
        officer_of[c["client_id"]] = c["officer"]
        e = _expected_client(c, records[c["client_id"]], tz, first, last, as_of)
        row = rows[c["officer"]]
        row["clients"] += 1
        row["states"][e["state"]] += 1
        for k in ("expected", "done", "visits", "overdue", "overdue_reviews"):
            row[k] += e[k]
    range_opens = datetime.combine(first, time(0), tz)
    for e in _scan(stack, "escalations"):
        if e["bapas_id"] != bapas_id or _t(e["opened_at"]) >= as_of:
            continue
        row = rows[officer_of.get(e["client_id"], e["officer"])]
        resolved = _t(e["resolved_at"]) if e.get("resolved_at") else None
        if resolved is None or resolved >= as_of:
            row["open"] += 1
        elif resolved >= range_opens:
            row["days"].append((resolved - _t(e["opened_at"])).total_seconds() / 86400)
    total = {"clients": 0, "states": defaultdict(int), "expected": 0, "done": 0, "visits": 0, "overdue": 0,
             "overdue_reviews": 0, "open": 0, "days": []}
    for row in rows.values():
        for k, v in row.items():
            if k == "states":
                for s, m in v.items():
                    total["states"][s] += m
            else:
                total[k] += v
    return {**rows, "TOTAL": total}


def as_api(row: dict) -> dict:
    """The recomputed row in the report's shape."""
    states = {s: row["states"].get(s, 0) for s in ("compliant", "due", "missed", "unreachable", "ended")}
    return {"caseload": row["clients"] - states["ended"], "clients": row["clients"], "clients_by_state": states,
            "checkins_expected": row["expected"], "checkins_done": row["done"], "home_visits": row["visits"],
            "open_escalations": row["open"], "overdue_progress_reports": row["overdue"],
            "overdue_stage_reviews": row["overdue_reviews"],
            "escalations_resolved": len(row["days"]),
            "median_days_to_resolve": round(statistics.median(row["days"]), 1) if row["days"] else None}


def _strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("officer", "officer_name", "checkin_rate")}


# ----- the tests --------------------------------------------------------------------------------------------

def test_report_numbers_equal_the_raw_records_recomputed(stack):
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    first = today - timedelta(days=44)
    # Resolve one seeded escalation (a day-old episode) so the median has something to say.
    opened = stack.get("/v1/escalations?state=open", "kasubsi.jaksel").json["items"]
    assert opened, "the seed opens an escalation in each Bapas"
    r = stack.post(f"/v1/escalations/{opened[0]['id']}/resolve", "kasubsi.jaksel",
                   {"resolution": "contact_restored", "notes": "Klien lapor diri kembali"})
    assert r.status == 200, r

    for query in (f"?from={first}&to={today}", f"?from={first}&to={today - timedelta(days=12)}"):
        r = stack.get("/v1/reports/compliance" + query, "kasubsi.jaksel")
        assert r.status == 200, r
        report = r.json
        expected = expected_report(stack, "jaksel", date.fromisoformat(report["from"]),
                                   date.fromisoformat(report["to"]), _t(report["as_of"]))
        rows = {row["officer"]: row for row in report["officers"]}
        assert {"pk.andi", "pk.budi"} <= set(rows)
        for officer in ("pk.andi", "pk.budi"):
            assert _strip(rows[officer]) == as_api(expected[officer]), officer
        assert _strip(report["totals"]) == as_api(expected["TOTAL"])
        assert set(rows) == set(expected) - {"TOTAL"}

    # The seeded history shows in the numbers (so the comparison above is not between two empty reports).
    totals = stack.get(f"/v1/reports/compliance?from={first}&to={today}", "kasubsi.jaksel").json["totals"]
    assert totals["checkins_done"] >= 5 and totals["home_visits"] >= 2 and totals["overdue_progress_reports"] >= 1
    assert totals["clients_by_state"]["unreachable"] >= 1 and totals["escalations_resolved"] >= 1
    assert totals["checkins_expected"] > totals["checkins_done"]

    # The CSV: UTF-8 with a BOM, one row per PK and a total row, the same numbers.
    r = stack.get(f"/v1/reports/compliance?from={first}&to={today}", "kasubsi.jaksel", headers={"Accept": "text/csv"})
    assert r.status == 200 and r.headers["content-type"] == "text/csv; charset=utf-8", r.headers
    assert r.body.startswith(b"\xef\xbb\xbf") and "attachment" in r.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
    report = stack.get(f"/v1/reports/compliance?from={first}&to={today}", "kasubsi.jaksel").json
    assert [row["PK"] for row in table] == [o["officer"] for o in report["officers"]] + ["TOTAL"]
    for row, api_row in zip(table, [*report["officers"], report["totals"]], strict=True):
        assert int(row["Beban kasus (klien aktif)"]) == api_row["caseload"]
        assert int(row["Patuh"]) == api_row["clients_by_state"]["compliant"]
        assert int(row["Tidak dapat dihubungi"]) == api_row["clients_by_state"]["unreachable"]
        assert int(row["Lapor diri diharapkan"]) == api_row["checkins_expected"]
        assert int(row["Lapor diri terlaksana"]) == api_row["checkins_done"]
        assert int(row["Kunjungan rumah"]) == api_row["home_visits"]
        assert int(row["Eskalasi terbuka"]) == api_row["open_escalations"]
        assert int(row["Laporan perkembangan terlambat"]) == api_row["overdue_progress_reports"]
        median = row["Median hari penyelesaian eskalasi"]
        assert (float(median) if median else None) == api_row["median_days_to_resolve"]


def test_who_may_read_the_reports(stack):
    jaksel_client = stack.stack.seeded["jaksel"][0]
    # A PK: 403 on the coordinators' queries.
    for path in ("/v1/reports/compliance", f"/v1/clients/{jaksel_client}/timeline"):
        assert_problem(stack.get(path, "pk.andi"), 403, code="forbidden")
    # A coordinator sees only their Bapas.
    mine = stack.get("/v1/reports/compliance", "kasubsi.makassar").json
    assert mine["bapas_id"] == "makassar" and {o["officer"] for o in mine["officers"]} == {"pk.citra", "pk.dewi"}
    assert_problem(stack.get("/v1/reports/compliance?bapas_id=jaksel", "kasubsi.makassar"), 404)
    assert_problem(stack.get(f"/v1/clients/{jaksel_client}/timeline", "kasubsi.makassar"), 404)
    # Admin reads every Bapas (one, or the national view: a row per Bapas equal to its report) and writes nothing.
    national = stack.get("/v1/reports/compliance", "admin.pusat")
    assert national.status == 200 and national.json["scope"] == "national", national
    rows = {r["bapas_id"]: r for r in national.json["bapas"]}
    assert set(rows) == {"jaksel", "makassar"} and national.json["officers"] == []
    for bapas, coordinator in (("jaksel", "kasubsi.jaksel"), ("makassar", "kasubsi.makassar")):
        admin = stack.get(f"/v1/reports/compliance?bapas_id={bapas}", "admin.pusat")
        own = stack.get("/v1/reports/compliance", coordinator).json
        assert admin.status == 200 and admin.json["totals"] == own["totals"]
        assert {k: v for k, v in rows[bapas].items() if k not in ("bapas_id", "bapas_name")} == own["totals"]
        assert rows[bapas]["bapas_name"] == own["bapas_name"] and own["bapas_name"].startswith("Bapas Kelas I")
    assert national.json["totals"]["clients"] == sum(r["clients"] for r in rows.values())
    assert national.json["totals"]["checkins_done"] == sum(r["checkins_done"] for r in rows.values())
    table = stack.get("/v1/reports/compliance?format=csv", "admin.pusat")
    assert table.status == 200 and "nasional" in table.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(table.body.decode("utf-8-sig"))))
    assert [r["Bapas"] for r in lines] == ["jaksel", "makassar", "TOTAL"]
    assert int(lines[-1]["Jumlah klien"]) == national.json["totals"]["clients"]
    assert_problem(stack.get("/v1/reports/compliance?officer=pk.andi", "admin.pusat"), 422, field="officer")
    assert stack.get(f"/v1/clients/{jaksel_client}/timeline", "admin.pusat").status == 200
    body = {"stage": "awal", "period_start": date.today().isoformat(), "period_end": date.today().isoformat(),
            "assessment_summary": "x", "criminogenic_factors": "x", "recommended_program": "x",
            "submitted_at": datetime.now().astimezone().isoformat()}
    assert_problem(stack.put(f"/v1/clients/{jaksel_client}/progress-reports/{uuid.uuid4()}", "admin.pusat", body), 403)
    open_ = stack.get("/v1/escalations?state=open&bapas_id=jaksel", "admin.pusat").json["items"]
    target = open_[0]["id"] if open_ else str(uuid.uuid4())
    assert_problem(stack.post(f"/v1/escalations/{target}/resolve", "admin.pusat", {"resolution": "other"}), 403)
