"""Compaction end to end (issue 13 item 7, issue 16 item 4): check-ins over fourteen months through the API, in
an order an offline phone produces; the client item keeps only the recent facts and a summary, and what the API
says of the client is what the full history (every record in the records table) says."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.adapters.tables import ClientModel, RecordModel
from chalicelib.domain import compaction
from chalicelib.domain import compliance as rules
from chalicelib.services.clients import schedule_of
from tests.support import assert_problem, client_body

WIB = ZoneInfo("Asia/Jakarta")


def _full_history(client_id: str) -> list[rules.Contact]:
    """Every check-in of the client, from the records table (not from the client item)."""
    out = []
    for record in RecordModel.query(client_id):
        if record.kind == "checkin":
            data = record.data.as_dict() if hasattr(record.data, "as_dict") else record.data
            outcome, at = data["outcome"], data["occurred_at"]
            out.append(rules.Contact(datetime.fromisoformat(at), rules.contact_kind("checkin", outcome)))
    return out


def test_the_client_item_stays_bounded_and_the_api_agrees_with_the_full_history(api):
    now = datetime.now(UTC)
    start = (now.astimezone(WIB) - timedelta(days=420)).date()
    body = client_body("pk.andi", supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=900)).isoformat(), checkin_interval_days=7)
    r = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    cid = r.json["id"]

    rng = random.Random(7)
    days = sorted(rng.sample(range(1, 418), 45))
    rng.shuffle(days)  # offline phones: records arrive out of order
    outcomes = ["completed"] * 6 + ["no_answer", "excused", "number_inactive"]
    for day in days:
        at = datetime.combine(start + timedelta(days=day), datetime.min.time(), WIB) + timedelta(hours=10)
        r = api.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi",
                    {"occurred_at": at.isoformat(), "channel": "phone", "outcome": rng.choice(outcomes)})
        assert r.status == 201, r

    item = ClientModel.get(cid, consistent_read=True)
    schedule = schedule_of(item, "Asia/Jakarta")
    summary = compaction.Summary.decode(item.contacts_summary)
    assert summary.windows == compaction.compactable(schedule, datetime.now(UTC)) > 40
    boundary = summary.boundary(schedule)
    assert all(compaction.parse_fact(f).at >= boundary for f in item.contacts)
    assert len(item.contacts) < 15  # the last two months' facts; 45 were recorded

    def check() -> None:
        shown = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["compliance"]
        full = rules.evaluate(schedule, _full_history(cid), datetime.now(UTC)).to_api()
        assert {k: shown[k] for k in full} == full

    check()
    # A late record for a window compacted long ago (missed at the time): folded into the summary.
    missed = next(i for i, o in enumerate(summary.outcomes) if o == compaction.NEITHER)
    late = schedule.window(missed).opens_at + timedelta(hours=12)
    r = api.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi",
                {"occurred_at": late.isoformat(), "channel": "phone", "outcome": "completed"})
    assert r.status == 201, r
    item = ClientModel.get(cid, consistent_read=True)
    assert compaction.Summary.decode(item.contacts_summary).outcomes[missed] == compaction.COUNTED
    assert all(compaction.parse_fact(f).at >= boundary for f in item.contacts)
    check()
    # Its replay is a replay (200), nothing folded twice.
    r = api.put(f"/v1/clients/{cid}/checkins/{r.json['id']}", "pk.andi",
                {"occurred_at": late.isoformat(), "channel": "phone", "outcome": "completed"})
    assert r.status == 200, r
    check()

    # Windows kept as a summary cannot move: a new start is refused, a later end is fine.
    etag = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").headers["etag"]
    path = f"/v1/clients/{cid}"
    r = api.patch(path, "kasubsi.jaksel", {"supervision_start": (start + timedelta(days=1)).isoformat()},
                  headers={"If-Match": etag})
    assert_problem(r, 422, field="supervision_start")
    r = api.patch(path, "kasubsi.jaksel", {"supervision_end": (start + timedelta(days=950)).isoformat()},
                  headers={"If-Match": etag})
    assert r.status == 200, r
    check()


def test_a_report_ending_before_the_compaction_horizon_is_refused(api):
    today = datetime.now(WIB).date()
    old = today - timedelta(days=compaction.KEEP_DAYS + 1)
    r = api.get(f"/v1/reports/compliance?from={old - timedelta(days=30)}&to={old}", "kasubsi.jaksel")
    assert_problem(r, 422, field="to")
    edge = today - timedelta(days=compaction.KEEP_DAYS)
    assert api.get(f"/v1/reports/compliance?from={edge - timedelta(days=30)}&to={edge}", "kasubsi.jaksel").status == 200
