"""Issue 15 item 3: a program change (asimilasi -> pembebasan bersyarat) starts a new supervision period with its
own decree (SK), keeping the old period's history and compliance (`POST /v1/clients/{id}/programs`, moto)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from chalicelib.adapters.tables import AuditModel, ClientModel, plain
from chalicelib.services import retention
from tests.escalation_support import VILLAGE, at_wib, checkin, today_wib
from tests.support import assert_problem, client_body

SK = "PAS-1234.PK.05.06 Tahun 2026"


def register(api, start: date, end: date | None = None, **overrides) -> str:
    """A client with its history on file since `start` (its past windows count)."""
    body = client_body("pk.andi", supervision_start=start.isoformat(), tracking_from=start.isoformat(),
                       supervision_end=(end or start + timedelta(days=180)).isoformat(), **overrides)
    body["address"]["village_code"] = VILLAGE
    r = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    return r.json["id"]


def _pb(today: date, **overrides):
    body = {"program": "pembebasan_bersyarat", "sk_number": SK, "sk_date": (today - timedelta(days=3)).isoformat(),
            "start_date": today.isoformat(), "end_date": (today + timedelta(days=365)).isoformat(),
            "note": "Pembebasan bersyarat sesuai SK Dirjen."}
    body.update(overrides)
    return body


def _asimilasi_client(api, weeks_met: int = 6, days_ago: int = 60) -> tuple[str, date, date]:
    """Asimilasi (weekly) since `days_ago` days, with its history on file: weeks 0..weeks_met-1 reported."""
    today = today_wib()
    start = today - timedelta(days=days_ago)
    cid = register(api, start, program="asimilasi", sk_number="PAS-77.PK.01.04 Tahun 2026",
                   sk_date=(start - timedelta(days=5)).isoformat())
    for week in range(weeks_met):
        checkin(api, cid, at_wib(start + timedelta(days=7 * week + 3), 10))
    return cid, start, today


def test_asimilasi_to_pembebasan_bersyarat_starts_a_new_period_and_keeps_the_old_one(api):
    cid, start, today = _asimilasi_client(api)
    before = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    assert before["periods"] == [{
        "program": "asimilasi", "sk_number": "PAS-77.PK.01.04 Tahun 2026",
        "sk_date": (start - timedelta(days=5)).isoformat(), "start_date": start.isoformat(),
        "end_date": before["supervision_end"], "planned_end_date": None, "note": None, "started_at": None,
        "started_by": None, "current": True, "compliance": before["periods"][0]["compliance"]}]
    assert (before["compliance"]["state"], before["compliance"]["consecutive_missed"]) == ("missed", 2)

    r = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today))
    assert r.status == 201, r
    assert r.headers["location"] == f"/v1/clients/{cid}" and r.headers["etag"] == f'"{before["version"] + 1}"'
    c = r.json
    end = today + timedelta(days=365)
    assert (c["program"], c["checkin_interval_days"], c["supervision_start"], c["supervision_end"]) == (
        "pembebasan_bersyarat", 30, start.isoformat(), end.isoformat())
    assert (c["sk_number"], c["period_start"], c["stage"]) == (SK, today.isoformat(), "awal")
    # The cadence switches on the decree's first day; the weeks before it keep theirs.
    assert c["schedule"][-1] == {"from": today.isoformat(), "checkin_interval_days": 30,
                                 "program": "pembebasan_bersyarat", "changed_on": today.isoformat(),
                                 "previous_end": before["supervision_end"]}
    old, new = c["periods"]
    assert (old["program"], old["sk_number"], old["start_date"], old["end_date"], old["planned_end_date"],
            old["current"]) == ("asimilasi", "PAS-77.PK.01.04 Tahun 2026", start.isoformat(),
                                (today - timedelta(days=1)).isoformat(), before["supervision_end"], False)
    # Weeks 0-5 met, 6 and 7 missed, the week the decree cut short (4 days) never missed.
    assert {k: old["compliance"][k] for k in ("windows", "windows_closed", "met", "missed", "neutral",
                                              "consecutive_missed")} == {
        "windows": 9, "windows_closed": 9, "met": 6, "missed": 2, "neutral": 1, "consecutive_missed": 2}
    assert (new["program"], new["sk_number"], new["start_date"], new["end_date"], new["current"], new["note"],
            new["started_by"]) == ("pembebasan_bersyarat", SK, today.isoformat(), end.isoformat(), True,
                                   "Pembebasan bersyarat sesuai SK Dirjen.", "kasubsi.jaksel")
    assert (new["compliance"]["first_day"], new["compliance"]["windows_closed"]) == (today.isoformat(), 0)
    # Compliance continues: the streak of the old period is still two; the next contact is due in a month.
    assert (c["compliance"]["state"], c["compliance"]["consecutive_missed"], c["compliance"]["next_due"]) == (
        "missed", 2, (today + timedelta(days=29)).isoformat())
    # The new period has its own stages, reports and reviews, from its first day.
    assert c["progress_reports"]["next_period_start"] == today.isoformat()
    assert c["stage_reviews"]["next_stage"] == "awal" and c["stage_reviews"]["overdue"] == 0
    assert len(api.get(f"/v1/clients/{cid}/checkins", "pk.andi").json["items"]) == 6  # the history stays

    # Sent again (a retry after a lost answer): 200, the same client, nothing written.
    again = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today))
    assert again.status == 200 and again.json["version"] == c["version"] and again.json["periods"] == c["periods"]
    [entry] = [a for a in AuditModel.query(f"client#{cid}") if a.action == "client.program_change"]
    assert (entry.actor, entry.version) == ("kasubsi.jaksel", c["version"])
    assert "periods" in entry.fields and not any(SK in f for f in entry.fields)
    assert ClientModel.get(cid).end_month == end.isoformat()[:7]  # retention follows the new end

    # A check-in of the old period synced late still counts there: its compliance is kept, not frozen wrong.
    checkin(api, cid, at_wib(start + timedelta(days=45), 10))
    late = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    assert (late["periods"][0]["compliance"]["met"], late["periods"][0]["compliance"]["missed"]) == (7, 1)
    assert late["compliance"]["consecutive_missed"] == 1


def test_a_program_change_is_refused_with_the_field_named_and_nothing_written(api):
    cid, start, today = _asimilasi_client(api, weeks_met=8)
    version = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["version"]
    cases = [
        ({"start_date": start.isoformat()}, "start_date"),  # not after the current period's start
        ({"start_date": (today + timedelta(days=1)).isoformat()}, "start_date"),  # in the future
        ({"end_date": today.isoformat()}, "end_date"),  # not after start_date
        ({"sk_date": (today + timedelta(days=2)).isoformat()}, "sk_date"),
        ({"sk_number": "   "}, "sk_number"),
        ({"sk_number": "X" * 101}, "sk_number"),
        ({"sk_number": "PAS-1\n2"}, "sk_number"),
        ({"program": "bebas_murni"}, "program"),
        ({"checkin_interval_days": 0}, "checkin_interval_days"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"note": "x" * 4001}, "note"),
    ]
    for override, field in cases:
        assert_problem(api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today, **override)), 422, field)
    body = _pb(today)
    del body["end_date"]
    assert_problem(api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", body), 422, "end_date")
    # Only the coordinator of the client's Bapas: a PK 403, admin 403, another Bapas 404.
    for user, status in (("pk.andi", 403), ("admin.pusat", 403), ("kasubsi.makassar", 404)):
        assert api.post(f"/v1/clients/{cid}/programs", user, _pb(today)).status == status
    assert api.post(f"/v1/clients/{uuid.uuid4()}/programs", "kasubsi.jaksel", _pb(today)).status == 404
    assert api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["version"] == version

    # The decree of the current (first) period cannot begin another one: 409.
    r = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today, sk_number="PAS-77.PK.01.04 Tahun 2026"))
    assert_problem(r, 409)
    assert api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today)).status == 201
    # The same decree with other data: 409, and nothing changes.
    changed = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    assert_problem(api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel",
                            _pb(today, end_date=(today + timedelta(days=200)).isoformat())), 409)
    assert api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["version"] == changed["version"]
    # After the change the first period is history: its start stays; the end stays after the new windows began.
    patch = {"If-Match": str(changed["version"])}
    assert_problem(api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel",
                             {"supervision_start": (start + timedelta(days=1)).isoformat()}, headers=patch),
                   422, "supervision_start")
    assert_problem(api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel",
                             {"supervision_end": (today - timedelta(days=1)).isoformat()}, headers=patch),
                   422, "supervision_end")
    # A period must follow the current one without a gap.
    gap = _pb(today, sk_number="PAS-9 Tahun 2027", start_date=(today + timedelta(days=1)).isoformat())
    assert_problem(api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", gap), 422, "start_date")


def test_a_period_that_ended_is_followed_without_a_gap_and_the_days_between_are_not_missed(api):
    today = today_wib()
    start = today - timedelta(days=70)
    old_end = today - timedelta(days=10)  # asimilasi ended ten days ago, every week reported
    cid = register(api, start, old_end, program="asimilasi")
    for week in range(9):
        checkin(api, cid, at_wib(start + timedelta(days=7 * week + 1), 10))
    assert api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["compliance"]["state"] == "ended"
    # The PB decree's period began the day after; it reached the Bapas only today.
    r = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel",
                 _pb(today, start_date=(old_end + timedelta(days=1)).isoformat()))
    assert r.status == 201, r
    c = r.json
    assert c["compliance"]["state"] == "due" and c["compliance"]["consecutive_missed"] == 0
    old, new = c["periods"]
    assert old["end_date"] == old_end.isoformat() and old["compliance"]["missed"] == 0
    assert old["compliance"]["met"] == 9 and old["compliance"]["last_day"] == old_end.isoformat()
    # The PB window that began ten days ago is open; it is owed by its own last day.
    assert new["compliance"]["first_day"] == (old_end + timedelta(days=1)).isoformat()
    assert c["compliance"]["next_due"] == (old_end + timedelta(days=30)).isoformat()


def test_stage_reviews_and_reports_of_the_new_period_are_its_own(api):
    cid, start, today = _asimilasi_client(api, weeks_met=8, days_ago=90)
    review = {"stage": "awal", "litmas": {"date": (start + timedelta(days=20)).isoformat(), "summary": "Baik.",
                                         "recommendation": "Lanjutkan."},
              "tpp_session": {"date": (start + timedelta(days=25)).isoformat(), "decision": "continue"}}
    assert api.put(f"/v1/clients/{cid}/stage-reviews/{uuid.uuid4()}", "pk.andi", review).status == 201
    assert api.get(f"/v1/clients/{cid}", "pk.andi").json["stage_reviews"]["done"] == ["awal"]
    start_pb = today - timedelta(days=2)
    c = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today, start_date=start_pb.isoformat())).json
    assert c["stage_reviews"]["done"] == [] and c["stage"] == "awal"  # the old period's awal is not the new one's
    # A review of the new period's awal stage: its session is on or after the period's first day.
    early = {**review, "tpp_session": {"date": (start_pb - timedelta(days=1)).isoformat(), "decision": "continue"}}
    assert_problem(api.put(f"/v1/clients/{cid}/stage-reviews/{uuid.uuid4()}", "pk.andi", early), 422, "stage")
    ok = {**review, "tpp_session": {"date": today.isoformat(), "decision": "continue"}}
    assert api.put(f"/v1/clients/{cid}/stage-reviews/{uuid.uuid4()}", "pk.andi", ok).status == 201
    assert api.get(f"/v1/clients/{cid}", "pk.andi").json["stage_reviews"]["done"] == ["awal"]
    # A progress report of an old-period month is judged by the old period's stages; the new one's by its own.
    report = {"period_start": (start + timedelta(days=30)).isoformat(),
              "period_end": (start + timedelta(days=50)).isoformat(), "assessment_summary": "Kooperatif.",
              "criminogenic_factors": "Pergaulan.", "recommended_program": "Pelatihan kerja.",
              "submitted_at": at_wib(today, 8).isoformat()}
    old_stage = c["periods"][0]
    assert old_stage["end_date"] == (start_pb - timedelta(days=1)).isoformat()
    assert api.put(f"/v1/clients/{cid}/progress-reports/{uuid.uuid4()}", "pk.andi",
                   {**report, "stage": "lanjutan"}).status == 201
    assert_problem(api.put(f"/v1/clients/{cid}/progress-reports/{uuid.uuid4()}", "pk.andi",
                           {**report, "period_start": start_pb.isoformat(),
                            "period_end": (today - timedelta(days=1)).isoformat(), "stage": "lanjutan"}),
                   422, "stage")


def test_retention_replaces_period_notes_and_keeps_the_decrees(api):
    cid = register(api, date(2015, 1, 5), date(2015, 6, 30), program="asimilasi")
    r = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", {
        "program": "pembebasan_bersyarat", "sk_number": "PAS-15.PK.2015", "sk_date": "2015-04-20",
        "start_date": "2015-05-01", "end_date": "2016-12-31", "note": "Tinggal bersama Ibu Sari di Depok."})
    assert r.status == 201, r
    r = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", {
        "program": "cuti_bersyarat", "sk_number": "PAS-16.PK.2016", "sk_date": "2016-12-01",
        "start_date": "2017-01-01", "end_date": "2017-06-30", "note": "Dijamin oleh paman, Bapak Hasan."})
    assert r.status == 201, r
    assert [p["sk_number"] for p in r.json["periods"]] == [None, "PAS-15.PK.2015", "PAS-16.PK.2016"]
    assert retention.run(datetime.now(UTC))["clients"] >= 1
    item = ClientModel.get(cid, consistent_read=True)
    assert item.anonymised_at and item.period["note"] == retention.REDACTED
    assert [plain(x).get("note") for x in item.periods] == [None, retention.REDACTED]
    assert [plain(x).get("sk_number") for x in item.periods] == [None, "PAS-15.PK.2015"]
    assert item.period["sk_number"] == "PAS-16.PK.2016"
    # Anonymised: no further change.
    assert_problem(api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", {
        "program": "asimilasi", "sk_number": "PAS-17", "sk_date": "2017-06-01", "start_date": "2017-07-01",
        "end_date": "2017-12-31"}), 409)


def test_the_compliance_report_counts_each_client_as_its_record_does(api):
    """The report reads the cadence history, tracking start and current period (it used to read the interval alone
    and count every window from the supervision start)."""
    cid, _start, today = _asimilasi_client(api)  # weeks 6 and 7 missed: "missed" under its weekly history
    assert api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today)).status == 201
    late = client_body("pk.budi", supervision_start=(today - timedelta(days=42)).isoformat(),
                       supervision_end=(today + timedelta(days=138)).isoformat())
    assert api.post("/v1/clients", "kasubsi.jaksel", late).status == 201  # registered late: due, nothing missed
    report = api.get("/v1/reports/compliance", "kasubsi.jaksel").json
    rows = {row["officer"]: row for row in report["officers"]}
    assert api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["compliance"]["state"] == "missed"
    assert rows["pk.andi"]["clients_by_state"]["missed"] == 1 and rows["pk.andi"]["clients_by_state"]["due"] == 0
    assert rows["pk.budi"]["clients_by_state"]["due"] == 1 and rows["pk.budi"]["clients_by_state"]["unreachable"] == 0
    assert rows["pk.andi"]["overdue_stage_reviews"] == 0  # the new period's first stage has just begun


def test_a_patch_corrects_the_current_decree_and_a_new_decree_is_a_new_period(api):
    cid, _start, today = _asimilasi_client(api, weeks_met=8)
    c = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today)).json
    fixed = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"sk_number": "PAS-1234.PK.05.07 Tahun 2026",
                                                               "sk_date": (today - timedelta(days=4)).isoformat()},
                      headers={"If-Match": str(c["version"])})
    assert fixed.status == 200, fixed
    f = fixed.json
    assert (f["sk_number"], f["sk_date"], f["periods"][-1]["sk_number"]) == (
        "PAS-1234.PK.05.07 Tahun 2026", (today - timedelta(days=4)).isoformat(), "PAS-1234.PK.05.07 Tahun 2026")
    assert f["periods"][-1]["start_date"] == today.isoformat() and f["periods"][-1]["note"] == c["periods"][-1]["note"]
    assert f["periods"][0] == c["periods"][0]  # the closed period is untouched
    assert_problem(api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"sk_number": "PAS-77.PK.01.04 Tahun 2026"},
                             headers={"If-Match": str(f["version"])}), 422, "sk_number")
    cleared = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"sk_number": None},
                        headers={"If-Match": str(f["version"])}).json
    assert cleared["sk_number"] is None and cleared["sk_date"] == f["sk_date"]
    [entry, *_] = [a for a in AuditModel.query(f"client#{cid}", scan_index_forward=False)
                   if a.action == "client.update"]
    assert entry.fields == ["period"]


def test_a_client_changed_between_the_read_and_the_write_is_a_409_and_nothing_is_written(api, monkeypatch):
    from chalicelib.services import programs

    cid, _, today = _asimilasi_client(api, weeks_met=8)
    stale = ClientModel.get(cid, consistent_read=True)  # what the program change reads ...
    version = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["version"]
    patched = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"notes": "Catatan baru."},
                        headers={"If-Match": str(version)})  # ... before another coordinator's change commits
    assert patched.status == 200, patched
    reads = iter([stale])
    real = programs.load_client
    monkeypatch.setattr(programs, "load_client",
                        lambda p, client_id, write=False: next(reads, None) or real(p, client_id, write=write))
    assert_problem(api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today)), 409)
    after = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    assert (after["version"], after["program"], len(after["periods"]), after["notes"]) == (
        version + 1, "asimilasi", 1, "Catatan baru.")
    assert not [a for a in AuditModel.query(f"client#{cid}") if a.action == "client.program_change"]
    # Sent again, on the fresh client, it goes through.
    assert api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today)).status == 201
