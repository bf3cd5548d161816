"""Stage reviews (litmas + TPP session): offline-safe PUTs, validation, the due rule on the client and the
compliance report's overdue reviews per PK."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from tests.records_support import audits_of, client_item, concurrent_identical_puts, new_client, new_id, records_of
from tests.support import assert_problem

WIB = timezone(timedelta(hours=7))


def today_wib() -> date:
    return datetime.now(UTC).astimezone(WIB).date()


def review_body(stage: str = "awal", days_ago: int = 1, **tpp: Any) -> dict[str, Any]:
    session = today_wib() - timedelta(days=days_ago)
    return {"stage": stage,
            "litmas": {"date": (session - timedelta(days=3)).isoformat(), "summary": "Klien kooperatif, bekerja.",
                       "recommendation": "Lanjutkan pembimbingan."},
            "tpp_session": {"date": session.isoformat(), "decision": "continue", "notes": None, **tpp}}


def _path(cid: str, rid: str) -> str:
    return f"/v1/clients/{cid}/stage-reviews/{rid}"



def test_a_review_is_created_once_replayed_and_conflicts(module_api):
    api = module_api
    cid = new_client(api)
    rid = new_id()
    body = review_body()
    created = api.put(_path(cid, rid), "pk.andi", body)
    assert created.status == 201, created
    review = created.json
    assert review["stage"] == "awal" and review["tpp_session"]["decision"] == "continue"
    assert review["litmas"]["summary"] == "Klien kooperatif, bekerja." and review["recorded_by"] == "pk.andi"
    assert created.headers["location"] == _path(cid, rid) and created.headers["etag"] == '"1"'

    replay = api.put(_path(cid, rid), "pk.andi", body)
    assert replay.status == 200 and replay.body == created.body
    changed = api.put(_path(cid, rid), "pk.andi", review_body(decision="warning"))
    assert_problem(changed, 409, code="conflict")

    assert [r.record_key for r in records_of(cid)] == [f"stage_review#{rid}"]
    assert [a.action for a in audits_of(f"record#{cid}#stage_review#{rid}")] == ["stage_review.create"]
    assert len(client_item(cid)["stage_reviews"]["L"]) == 1
    listed = api.get(f"/v1/clients/{cid}/stage-reviews", "kasubsi.jaksel")
    assert listed.status == 200 and listed.json["items"] == [review]
    assert api.get(f"/v1/clients/{cid}", "pk.andi").json["stage_reviews"]["done"] == ["awal"]


def test_concurrent_identical_reviews_make_one_record(module_api, atomic_moto_transactions):
    api = module_api
    cid = new_client(api)
    concurrent_identical_puts(api, _path(cid, new_id()), "pk.andi", review_body(), 8)
    assert len(records_of(cid)) == 1 and len(client_item(cid)["stage_reviews"]["L"]) == 1


def test_invalid_reviews_name_the_field_and_write_nothing(module_api):
    api = module_api
    cid = new_client(api)  # supervision started 10 days ago, lasts 181 days: only `awal` has begun
    today = today_wib()
    cases = [
        (review_body(days_ago=-1), "tpp_session.date"),
        ({**review_body(), "litmas": {**review_body()["litmas"], "date": (today - timedelta(days=30)).isoformat()}},
         "litmas.date"),
        ({**review_body(), "litmas": {**review_body()["litmas"], "date": today.isoformat()}}, "tpp_session.date"),
        (review_body(stage="lanjutan"), "stage"),
        (review_body(stage="selesai"), "stage"),
        (review_body(decision="other"), "tpp_session"),
        (review_body(decision="usul_pencabutan"), "tpp_session.decision"),
        ({**review_body(), "litmas": {"date": today.isoformat(), "summary": " "}}, "litmas.summary"),
        ({**review_body(), "extra": 1}, "extra"),
    ]
    for body, field in cases:
        r = api.put(_path(cid, new_id()), "pk.andi", body)
        assert_problem(r, 422, field=field)
    assert records_of(cid) == []
    assert_problem(api.put(f"/v1/clients/{cid}/stage-reviews/not-a-uuid", "pk.andi", review_body()), 422, field="id")
    # `other` with notes is fine, and so is a warning (teguran).
    assert api.put(_path(cid, new_id()), "pk.andi", review_body(decision="other", notes="Ditunda.")).status == 201
    assert api.put(_path(cid, new_id()), "pk.andi", review_body(decision="warning")).status == 201


def test_overdue_reviews_on_the_client_and_in_the_compliance_report(module_api):
    api = module_api
    today = today_wib()
    # 90 days from 100 days ago: every stage has ended, so each review is past due (unless the last stage's due
    # date moved to a working day that is not past yet: then two).
    start, end = today - timedelta(days=100), today - timedelta(days=10)
    cid = new_client(api, officer="pk.budi", supervision_start=start.isoformat(), supervision_end=end.isoformat())
    status = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["stage_reviews"]
    assert status["overdue"] == 3 and status["overdue_stages"] == ["awal", "lanjutan", "akhir"]
    assert status["next_due"] is None and status["done"] == []

    def overdue_of(officer: str) -> int:
        r = api.get(f"/v1/reports/compliance?officer={officer}", "kasubsi.jaksel")
        assert r.status == 200, r
        [row] = r.json["officers"]
        return row["overdue_stage_reviews"]

    before = overdue_of("pk.budi")
    assert before >= 3
    late = api.put(_path(cid, new_id()), "pk.budi", review_body("awal", days_ago=5))
    assert late.status == 201, late
    status = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["stage_reviews"]
    assert status["overdue_stages"] == ["lanjutan", "akhir"] and status["done"] == ["awal"]
    assert overdue_of("pk.budi") == before - 1
    csv = api.get("/v1/reports/compliance?format=csv", "kasubsi.jaksel")
    assert "Litmas dan sidang TPP tahap terlambat" in csv.body.decode("utf-8-sig").splitlines()[0]


def test_a_pk_reviews_only_their_own_clients(module_api):
    api = module_api
    cid = new_client(api)
    assert_problem(api.put(_path(cid, new_id()), "pk.budi", review_body()), 403)
    assert_problem(api.put(_path(cid, new_id()), "kasubsi.makassar", review_body()), 404)
    assert_problem(api.put(_path(cid, new_id()), "admin.pusat", review_body()), 403)
    assert records_of(cid) == []


def test_retention_scrubs_the_review_texts_and_keeps_dates_and_decision():
    from chalicelib.services.retention import REDACTED, scrub_record

    body = {"id": "x", "stage": "awal", "litmas": {"date": "2026-01-05", "summary": "Rahasia", "recommendation": "R"},
            "tpp_session": {"date": "2026-01-08", "decision": "warning", "notes": "Catatan pribadi"}}
    clean = scrub_record("stage_review", body)
    assert clean["litmas"] == {"date": "2026-01-05", "summary": REDACTED, "recommendation": REDACTED}
    assert clean["tpp_session"] == {"date": "2026-01-08", "decision": "warning", "notes": REDACTED}
    assert body["litmas"]["summary"] == "Rahasia"  # the input is not changed
