from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.clients import Stage, default_interval, local_today, stage_bounds, stage_on
from chalicelib.domain.phones import InvalidPhone, is_mobile, normalize_id_phone
from chalicelib.domain.villages import UnknownVillage, lookup_village


@pytest.mark.parametrize("raw", ["0812-3456-7890", "0812 3456 7890", "+62 812-3456-7890", "6281234567890",
                                 "(0812) 34567890", "+6281234567890"])
def test_phone_forms_normalise_to_e164(raw):
    assert normalize_id_phone(raw) == "+6281234567890"


def test_landline_keeps_area_code():
    assert normalize_id_phone("(021) 789-0123") == "+62217890123"


@pytest.mark.parametrize("raw, mobile", [
    ("0812-3456-7890", True),  # Telkomsel
    ("0856-1234-5678", True),  # Indosat
    ("0878-1234-5678", True),  # XL
    ("0895-1234-5678", True),  # 3 (Tri)
    ("0881-1234-5678", True),  # Smartfren
    ("(021) 789-0123", False),  # Jakarta fixed line
    ("(0411) 123456", False),  # Makassar fixed line
    ("(0967) 123456", False),  # Jayapura fixed line
])
def test_mobile_and_fixed_line_numbers_are_told_apart(raw, mobile):
    # SMS goes to mobile numbers only (the outbound SMS layer relies on this); phonenumberslite keeps the
    # number-type metadata (only geocoder, carrier and time-zone data are left out).
    assert is_mobile(normalize_id_phone(raw)) is mobile


@pytest.mark.parametrize("raw", ["", "12345", "08123", "abc", "+1 202 555 0100x", "0" * 40])
def test_invalid_phones(raw):
    with pytest.raises(InvalidPhone):
        normalize_id_phone(raw)


def test_village_lookup_with_and_without_dots():
    assert lookup_village("3174091001") == lookup_village("31.74.09.1001")
    assert lookup_village("7371011001").name == "Bontorannu"
    for bad in ("31.74.09", "31.74.09.9999", "31740910011", "3174.09.1001", "x"):
        with pytest.raises(UnknownVillage):
            lookup_village(bad)


def test_intervals():
    assert default_interval("asimilasi") == 7
    assert {default_interval(p) for p in ("pembebasan_bersyarat", "cuti_bersyarat", "cuti_menjelang_bebas")} == {30}


def test_stages_by_thirds():
    start, end = date(2026, 1, 1), date(2026, 3, 31)  # 90 days: 30 each
    assert stage_on(start, end, date(2025, 12, 1)) == Stage.AWAL
    assert stage_on(start, end, date(2026, 1, 30)) == Stage.AWAL
    assert stage_on(start, end, date(2026, 1, 31)) == Stage.LANJUTAN
    assert stage_on(start, end, date(2026, 3, 1)) == Stage.LANJUTAN
    assert stage_on(start, end, date(2026, 3, 2)) == Stage.AKHIR
    assert stage_on(start, end, end) == Stage.AKHIR
    assert stage_on(start, end, date(2026, 4, 1)) == Stage.SELESAI
    bounds = stage_bounds(start, end)
    assert [(s, a.isoformat(), b.isoformat()) for s, a, b in bounds] == [
        (Stage.AWAL, "2026-01-01", "2026-01-30"), (Stage.LANJUTAN, "2026-01-31", "2026-03-01"),
        (Stage.AKHIR, "2026-03-02", "2026-03-31")]


@pytest.mark.parametrize("days", [1, 2, 3, 4, 7, 10, 100, 365])
def test_stage_bounds_agree_with_stage_on(days):
    from datetime import timedelta

    start = date(2026, 5, 1)
    end = start + timedelta(days=days - 1)
    for stage, first, last in stage_bounds(start, end):
        d = first
        while d <= last:
            assert stage_on(start, end, d) == stage
            d += timedelta(days=1)


def test_local_today_uses_the_bapas_zone():
    at = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)  # 23:30 WIB, 00:30 WITA, 01:30 WIT
    assert local_today(at, "Asia/Jakarta") == date(2026, 1, 1)
    assert local_today(at, "Asia/Makassar") == date(2026, 1, 2)
    assert local_today(at, "Asia/Jayapura") == date(2026, 1, 2)
