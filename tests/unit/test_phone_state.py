"""A client's numbers (chalicelib/domain/phones.py): state kept across edits, and who gets an SMS."""

from __future__ import annotations

from chalicelib.domain.phones import carry_state, phone_view, sms_recipient

MOBILE, MOBILE2, GUARANTOR, LANDLINE = "+6281234567890", "+6285712345678", "+6281311112222", "+62217890123"


def test_the_clients_own_active_mobile_first_then_the_guarantors():
    client = {"number": MOBILE, "owner": "client"}
    guarantor = {"number": GUARANTOR, "owner": "guarantor"}
    assert sms_recipient([guarantor, client]) == client
    assert sms_recipient([{**client, "inactive_at": "2026-12-01T00:00:00+00:00"}, guarantor]) == guarantor
    assert sms_recipient([{"number": LANDLINE, "owner": "client"}, guarantor]) == guarantor  # never a landline
    assert sms_recipient([{"number": LANDLINE, "owner": "client"}]) is None
    verified = {"number": MOBILE2, "owner": "client", "verified_at": "2026-12-01T00:00:00+00:00"}
    assert sms_recipient([client, verified, guarantor]) == verified  # a verified number first
    assert sms_recipient([{**guarantor, "inactive_at": "x"}]) is None


def test_a_kept_number_keeps_its_state_and_the_view_shows_it():
    old = [{"number": MOBILE, "owner": "client", "verified_at": "2026-12-01T00:00:00+00:00"},
           {"number": GUARANTOR, "owner": "guarantor", "inactive_at": "2026-12-02T00:00:00+00:00"}]
    new = [{"number": MOBILE, "owner": "client", "name": "Andi"}, {"number": GUARANTOR, "owner": "client"}]
    kept = carry_state(old, new)
    assert kept == [{"number": MOBILE, "owner": "client", "name": "Andi", "verified_at": "2026-12-01T00:00:00+00:00"},
                    {"number": GUARANTOR, "owner": "client"}]  # another owner: another phone
    assert phone_view(old[1]) == {"number": GUARANTOR, "owner": "guarantor", "name": None, "status": "inactive",
                                  "verified_at": None, "inactive_since": "2026-12-02T00:00:00+00:00"}
