"""The pure diff behind PATCH /v1/clients/{id}: which stored attributes a merge-patch changes (no I/O)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.tables import ClientModel
from chalicelib.domain.clients import Program, default_interval
from chalicelib.schemas.clients import ClientPatch
from chalicelib.services.clients import client_changes


def stored(**overrides: Any) -> ClientModel:
    attrs: dict[str, Any] = {
        "bapas_id": "jaksel", "officer": "pk.andi", "officer_key": "jaksel#pk.andi", "name": "Klien Uji",
        "program": "asimilasi", "supervision_start": "2026-06-01", "supervision_end": "2026-12-01",
        "end_month": "2026-12", "checkin_interval_days": default_interval(Program.ASIMILASI), "offence": None,
        "notes": "lama", "version": 3,
        "phones": [{"number": "+6281234567890", "owner": "client", "verified_at": "2026-11-02T03:00:00+00:00"}],
    }
    attrs.update(overrides)
    return ClientModel("0f0c6c1e-8d3b-4a5e-9a56-0c2f3c1d2e4f", **attrs)


def patch_of(body: dict[str, Any]) -> ClientPatch:
    return ClientPatch.model_validate_json(json.dumps(body))  # as the route parses it (strict dates)


def test_values_equal_to_the_stored_ones_change_nothing() -> None:
    patch = patch_of({"name": "Klien Uji", "officer": "pk.andi", "program": "asimilasi",
                                        "supervision_start": "2026-06-01", "notes": "lama"})
    assert client_changes(stored(), patch) == {}


def test_officer_brings_its_index_key_and_end_its_retention_month() -> None:
    patch = patch_of({"officer": "pk.budi", "supervision_end": "2027-01-15", "offence": None})
    assert client_changes(stored(offence="Pasal 362 KUHP"), patch) == {
        "officer": "pk.budi", "officer_key": "jaksel#pk.budi", "offence": None,
        "supervision_end": "2027-01-15", "end_month": "2027-01"}


def test_an_anonymised_client_leaves_the_retention_index_alone() -> None:
    patch = patch_of({"supervision_end": "2027-01-15"})
    assert client_changes(stored(anonymised_at="2026-12-02T00:00:00+00:00"), patch) == {
        "supervision_end": "2027-01-15"}


def test_a_new_program_brings_its_interval_unless_one_is_sent() -> None:
    to_pb = {"program": "pembebasan_bersyarat"}
    assert client_changes(stored(), patch_of(to_pb)) == {
        "program": "pembebasan_bersyarat", "checkin_interval_days": default_interval(Program.PEMBEBASAN_BERSYARAT)}
    assert client_changes(stored(), patch_of({**to_pb, "checkin_interval_days": 14})) == {
        "program": "pembebasan_bersyarat", "checkin_interval_days": 14}
    same_interval = {"checkin_interval_days": default_interval(Program.ASIMILASI)}
    assert client_changes(stored(), patch_of(same_interval)) == {}


def test_phones_keep_their_state_and_address_is_stored_in_plain_form() -> None:
    patch = patch_of({"phones": [{"number": "0812-3456-7890", "owner": "client"}],
                                        "address": {"text": "Jl. Melati 1", "village_code": "3174091001"}})
    changes = client_changes(stored(), patch)
    # the same number keeps its verification
    assert changes["phones"] == [{"number": "+6281234567890", "owner": "client",
                                  "verified_at": "2026-11-02T03:00:00+00:00"}]
    assert changes["address"]["village_code"] == changes["village_code"] == "31.74.09.1001"
    assert changes["address"]["village_name"]
