from datetime import date

import pytest

from chalicelib.domain import notices
from chalicelib.domain.notices import MAX_SMS_CHARS, NoticeFacts, gsm7_length

EID = "1a2b3c4d-0000-5000-8000-000000000000"


def facts(**overrides):
    base = dict(escalation_id=EID, client_name="Rudi Hermawan", village_name="Jagakarsa", officer_name="Andi Saputra",
                officer_phone="+6281100000002", bhabin_name="Bripka Joko", bhabin_phone="+6281277001000",
                reason="three_missed", task_due=date(2026, 12, 4))
    base.update(overrides)
    return NoticeFacts(**base)


LONG = dict(client_name="Muhammad " + "Ābdurrahmān Ñ’Ωmega{x} " * 12, village_name="Kelurahan " + "Sukamaju " * 30,
            officer_name="Raden Mas " + "Wiryo Kusumo " * 20, bhabin_name="Brigadir " + "Polisi " * 40)


@pytest.mark.parametrize("compose", [notices.bhabinkamtibmas_sms, notices.officer_sms])
@pytest.mark.parametrize("overrides", [{}, LONG, {"bhabin_phone": None, "bhabin_name": None}])
def test_sms_fit_two_gsm7_segments(compose, overrides):
    text = compose(facts(**overrides))
    length = gsm7_length(text)
    assert length is not None, "must be sendable as GSM-7, never UCS-2"
    assert length <= MAX_SMS_CHARS
    assert notices.short_ref(EID) in text  # the reference survives shortening


def test_bhabinkamtibmas_sms_says_who_where_and_whom_to_call():
    text = notices.bhabinkamtibmas_sms(facts())
    for part in ("Rudi Hermawan", "Jagakarsa", "Andi Saputra", "081100000002", "ESK-1A2B3C4D"):
        assert part in text
    assert "Pasal" not in text and "KUHP" not in text


def test_officer_sms_names_the_bhabinkamtibmas_or_says_there_is_none():
    assert "Bhabinkamtibmas desa: Bripka Joko 081277001000" in notices.officer_sms(facts())
    assert "belum terdaftar" in notices.officer_sms(facts(bhabin_phone=None, bhabin_name=None))
    assert "04-12-2026" in notices.officer_sms(facts())


def test_long_names_are_shortened_not_dropped():
    text = notices.bhabinkamtibmas_sms(facts(**LONG))
    assert "Muhammad Abdurrahman" in text  # accents folded to GSM-7, start of the name kept
    assert "Raden Mas" in text and "Sukamaju" in text


def test_gsm7_counts_extended_characters_twice_and_rejects_others():
    assert gsm7_length("abc") == 3
    assert gsm7_length("{}") == 4
    assert gsm7_length("é") == 1
    assert gsm7_length("ā") is None
    assert notices.to_gsm7("  Ābdul \n Ñ’ ") == "Abdul Ñ"


def test_coordinator_message_carries_ids_not_the_name():
    text = notices.coordinator_message(facts(), "c0ffee00-0000-4000-8000-000000000000", "terkirim")
    assert "c0ffee00-0000-4000-8000-000000000000" in text and "Rudi" not in text
    assert len(notices.coordinator_subject(facts())) < 100
