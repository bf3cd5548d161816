"""Progress reports, the client timeline and the compliance report, in-process (moto).

One moto account for the module (a fresh one costs seconds): each test writes its own clients, and the
report test works in the other Bapas (Makassar), so the tests do not see each other's numbers.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.tables import ClientModel, RecordModel
from chalicelib.domain.clients import Stage, stage_bounds
from chalicelib.domain.progress import add_months, due_periods
from tests.escalation_support import (
    at_wib,
    checkin,
    dynamodb_calls,
    put_village_contacts,
    register,
    run_and_drain,
    today_wib,
    unreachable_client,
)
from tests.records_support import audits_of, new_id, stamp, visit_body
from tests.support import assert_problem, client_body


@pytest.fixture
def api(module_api):
    return module_api


def register_makassar(api, start, officer: str) -> str:
    body = client_body(officer, supervision_start=start.isoformat(), tracking_from=start.isoformat(),
                       supervision_end=(start + timedelta(days=180)).isoformat())  # history on file from start
    body["address"] = {"text": "Jl. Somba Opu No. 3", "village_code": "73.71.01.1001"}
    r = api.post("/v1/clients", "kasubsi.makassar", body)
    assert r.status == 201, r
    return r.json["id"]


def report_body(start, **overrides):
    first_month_end = add_months(start, 1) - timedelta(days=1)
    body = {"stage": "awal", "period_start": start.isoformat(), "period_end": first_month_end.isoformat(),
            "assessment_summary": "Klien kooperatif, rutin lapor diri.", "criminogenic_factors": "Pergaulan lama.",
            "recommended_program": "Pelatihan kerja", "submitted_at": stamp(10)}
    body.update(overrides)
    return body


def test_progress_reports_are_offline_safe_and_feed_the_due_rule(api):
    # 181 days: awal = days 0-60, two whole months (a 0-2 day stub joins the second); lanjutan from day 61,
    # its first month due a month later (or the next working day).
    start = today_wib() - timedelta(days=75)
    cid = register(api, start)
    before = api.get(f"/v1/clients/{cid}", "pk.andi").json["progress_reports"]
    periods = due_periods(start, start + timedelta(days=180))
    awal = [p for p in periods if p.stage is Stage.AWAL]
    upcoming = next(p for p in periods if p.stage is Stage.LANJUTAN)
    assert len(awal) == 2 and all(p.due < today_wib() for p in awal) and upcoming.due >= today_wib()
    assert upcoming.period_start == start + timedelta(days=61)
    assert before == {"overdue": 2, "next_due": upcoming.due.isoformat(),
                      "next_period_start": upcoming.period_start.isoformat(),
                      "next_period_end": upcoming.period_end.isoformat(), "next_stage": "lanjutan"}

    rid = new_id()
    path = f"/v1/clients/{cid}/progress-reports/{rid}"
    body = report_body(start)
    first = api.put(path, "pk.andi", body)
    assert first.status == 201, first
    got = first.json
    assert got["id"] == rid and got["stage"] == "awal" and got["recorded_by"] == "pk.andi" and got["version"] == 1
    assert first.headers["location"] == f"/v1/clients/{cid}/progress-reports/{rid}"
    # The same PUT again: 200 with the same bytes; another body on that id: 409, nothing changes.
    replay = api.put(path, "pk.andi", body)
    assert replay.status == 200 and replay.body == first.body
    assert_problem(api.put(path, "pk.andi", {**body, "recommended_program": "Lain"}), 409, code="conflict")
    # One transaction wrote the record (with its timeline key), its audit entry and the fact on the client.
    [record] = [r for r in RecordModel.query(cid) if r.kind == "progress_report"]
    assert record.time_key.endswith(f"#progress_report#{rid}")
    item = ClientModel.get(cid, consistent_read=True)
    assert item.progress_reports == [f"{got['submitted_at']}|{body['period_start']}|{body['period_end']}|"
                                     f"progress_report#{rid}"]
    assert len(audits_of(f"record#{cid}#progress_report#")) == 1
    assert api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["progress_reports"]["overdue"] == 1

    # Validation: the period lies in the supervision and ends by the submission; the stage is the end's stage.
    awal_end = stage_bounds(start, start + timedelta(days=180))[0][2]
    cases = [
        ({"period_start": (start - timedelta(days=1)).isoformat()}, "period_start"),
        ({"period_end": (start - timedelta(days=1)).isoformat(), "period_start": start.isoformat()}, "period_end"),
        ({"period_end": (today_wib() + timedelta(days=1)).isoformat()}, "period_end"),
        ({"period_start": (awal_end + timedelta(days=1)).isoformat(),
          "period_end": (awal_end + timedelta(days=5)).isoformat()}, "stage"),
        ({"submitted_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "submitted_at"),
        ({"stage": "selesai"}, "stage"),
        ({"assessment_summary": "  "}, "assessment_summary"),
        ({"extra": 1}, "extra"),
    ]
    for change, field in cases:
        assert_problem(api.put(f"/v1/clients/{cid}/progress-reports/{new_id()}", "pk.andi",
                               report_body(start, **change)), 422, field=field)
    second = report_body(start, stage="awal", period_start=awal[1].period_start.isoformat(),
                         period_end=awal_end.isoformat(), submitted_at=stamp(5))
    second_id = new_id()
    assert api.put(f"/v1/clients/{cid}/progress-reports/{second_id}", "kasubsi.jaksel", second).status == 201
    assert api.get(f"/v1/clients/{cid}", "pk.andi").json["progress_reports"]["overdue"] == 0
    assert stage_bounds(start, start + timedelta(days=180))[1][0] is Stage.LANJUTAN

    # Who may write and read: another PK 403, another Bapas 404, admin reads but never writes.
    assert_problem(api.put(f"/v1/clients/{cid}/progress-reports/{new_id()}", "pk.budi", body), 403)
    assert_problem(api.put(f"/v1/clients/{cid}/progress-reports/{new_id()}", "kasubsi.makassar", body), 404)
    assert_problem(api.put(f"/v1/clients/{cid}/progress-reports/{new_id()}", "admin.pusat", body), 403)
    listed = api.get(f"/v1/clients/{cid}/progress-reports?limit=1", "admin.pusat")
    assert listed.status == 200 and len(listed.json["items"]) == 1 and listed.json["next_cursor"]
    rest = api.get(f"/v1/clients/{cid}/progress-reports?cursor={listed.json['next_cursor']}", "pk.andi").json
    assert [r["id"] for r in listed.json["items"] + rest["items"]] == [second_id, rid]  # newest submission first
    assert rest["next_cursor"] is None
    assert_problem(api.get(f"/v1/clients/{cid}/progress-reports", "pk.budi"), 403)


def test_timeline_merges_records_escalations_and_changes_newest_first(api):
    put_village_contacts(api)
    cid = unreachable_client(api)  # registered, two check-ins, then four missed weeks
    run_and_drain(at_wib(today_wib()))  # opens the escalation
    v = api.put(f"/v1/clients/{cid}/visits/{new_id()}", "pk.andi", visit_body(visited_at=stamp(60)))
    assert v.status == 201, v
    start = today_wib() - timedelta(days=42)
    assert api.put(f"/v1/clients/{cid}/progress-reports/{new_id()}", "pk.andi", report_body(start)).status == 201
    client = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel")
    r = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"notes": "Pindah kerja"},
                  headers={"If-Match": str(client.json["version"])})
    assert r.status == 200, r

    full = api.get(f"/v1/clients/{cid}/timeline", "kasubsi.jaksel").json
    kinds = [i["kind"] for i in full["items"]]
    assert sorted(kinds) == sorted(["change", "change", "change", "checkin", "checkin", "escalation", "visit",
                                    "progress_report"]), kinds
    actions = [i["data"]["action"] for i in full["items"] if i["kind"] == "change"]
    assert actions == ["client.update", "client.escalate", "client.create"]
    assert full["next_cursor"] is None
    times = [datetime.fromisoformat(i["at"]) for i in full["items"]]
    assert times == sorted(times, reverse=True)
    escalation = next(i for i in full["items"] if i["kind"] == "escalation")
    assert escalation["data"]["state"] == "open" and escalation["data"]["reason"] == "three_missed"
    change = full["items"][0]
    assert change["kind"] == "change" and change["data"]["action"] == "client.update"
    assert change["data"]["fields"] == ["notes"] and "Pindah" not in json.dumps(change)  # names of fields only

    # Paged two at a time, the pages add up to the whole timeline, in order, with nothing twice.
    paged, cursor = [], None
    for _ in range(10):
        r = api.get(f"/v1/clients/{cid}/timeline?limit=2" + (f"&cursor={cursor}" if cursor else ""), "admin.pusat")
        assert r.status == 200, r
        paged += r.json["items"]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert paged == full["items"]

    bad = base64.urlsafe_b64encode(json.dumps({"before": "x"}).encode()).decode()
    assert_problem(api.get(f"/v1/clients/{cid}/timeline?cursor={bad}", "kasubsi.jaksel"), 422, field="cursor")
    assert_problem(api.get(f"/v1/clients/{cid}/timeline", "pk.andi"), 403)
    assert_problem(api.get(f"/v1/clients/{cid}/timeline", "kasubsi.makassar"), 404)


def test_compliance_report_reads_indexes_only_and_as_many_requests_whatever_the_history(api):
    today = today_wib()
    cids = [register_makassar(api, today - timedelta(days=20), officer) for officer in ("pk.citra", "pk.dewi")]
    checkin(api, cids[0], at_wib(today - timedelta(days=19), 10), user="pk.citra")
    checkin(api, cids[1], at_wib(today - timedelta(days=12), 10), outcome="excused", user="pk.dewi")  # window 1

    def report(query: str = "") -> tuple[dict, dict]:
        with dynamodb_calls() as calls:
            r = api.get("/v1/reports/compliance" + query, "kasubsi.makassar")
        assert r.status == 200, r
        return r.json, dict(calls)

    body, calls = report()
    assert "Scan" not in calls and calls == {"Query": 3}, calls  # clients, open and resolved escalations
    rows = {row["officer"]: row for row in body["officers"]}
    assert rows["pk.citra"]["checkins_done"] == 1 and rows["pk.citra"]["checkins_expected"] == 2
    # pk.dewi: window 0 missed, window 1 excused (neither expected nor done), window 2 still open.
    assert rows["pk.dewi"]["checkins_done"] == 0 and rows["pk.dewi"]["checkins_expected"] == 1
    assert body["totals"]["clients"] == 2 and body["totals"]["checkins_expected"] == 3

    for _ in range(5):  # more history, same requests
        checkin(api, cids[0], at_wib(today - timedelta(days=18), 10), user="pk.citra")
    assert report()[1] == calls

    one, calls = report(f"?officer=pk.dewi&from={today - timedelta(days=6)}&to={today}")
    assert [row["officer"] for row in one["officers"]] == ["pk.dewi"] and one["totals"]["clients"] == 1
    assert calls == {"Query": 3}

    assert_problem(api.get(f"/v1/reports/compliance?from={today}&to={today - timedelta(days=1)}",
                           "kasubsi.jaksel"), 422, field="from")
    assert_problem(api.get("/v1/reports/compliance?to=2026-13-01", "kasubsi.jaksel"), 422, field="to")
    assert_problem(api.get(f"/v1/reports/compliance?from={today - timedelta(days=400)}", "kasubsi.jaksel"), 422,
                   field="from")
    assert_problem(api.get("/v1/reports/compliance", "pk.andi"), 403)
    csv_ = api.get("/v1/reports/compliance?format=csv", "kasubsi.jaksel")
    assert csv_.headers["content-type"] == "text/csv; charset=utf-8" and csv_.body.startswith(b"\xef\xbb\xbfPK,")

    # The national view (admin without bapas_id): a row per Bapas equal to its own report, and the total; the
    # Bapas from one Query of the bapas table's registry-index, then the same three Queries per Bapas.
    with dynamodb_calls() as calls:
        national = api.get("/v1/reports/compliance", "admin.pusat")
    assert national.status == 200 and national.json["scope"] == "national", national
    assert "Scan" not in calls and calls["Query"] == 1 + 3 * 2, calls
    rows = {r["bapas_id"]: r for r in national.json["bapas"]}
    assert rows["makassar"]["bapas_name"] == "Bapas Kelas I Makassar"
    assert {k: v for k, v in rows["makassar"].items() if k not in ("bapas_id", "bapas_name")} == report()[0]["totals"]
    assert national.json["totals"]["clients"] == rows["makassar"]["clients"] + rows["jaksel"]["clients"]
