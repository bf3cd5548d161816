"""Issue 14's "done when" over HTTP against the local stack (moto server + chalice local): reaching the client
before a window is missed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.records_support import checkin_body, new_client


def test_assisted_check_in_channels_are_accepted_and_counted_over_http(stack):
    for channel in ("guarantor_phone", "office"):
        cid = new_client(stack)
        at = (datetime.now(UTC) - timedelta(minutes=15)).isoformat()
        r = stack.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi",
                      checkin_body(channel=channel, occurred_at=at))
        assert r.status == 201, r
        assert r.json["channel"] == channel
        compliance = stack.get(f"/v1/clients/{cid}", "pk.andi").json["compliance"]
        assert compliance["state"] == "compliant" and compliance["last_contact_at"] == r.json["occurred_at"]
