"""SMS texts: polite Bahasa Indonesia, the right content per recipient, never the offence, <= 2 segments."""

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import notices
from chalicelib.domain.notices import MAX_LINKED_SMS_CHARS, MAX_SMS_CHARS, NoticeFacts, gsm7_length, sms_segments

EID = "1a2b3c4d-0000-5000-8000-000000000000"
LINK = "https://pantau.example.go.id/r/AbCdEfGhIjKlMnOpQrStUv"


def facts(**overrides):
    base = dict(escalation_id=EID, reason="three_missed", bapas_name="Bapas Kelas I Jakarta Selatan",
                client_name="Rudi Hermawan", village_code="31.74.09.1001", village_name="Jagakarsa",
                officer_name="Andi Saputra", officer_phone="+6281100000002", task_due=date(2026, 12, 4),
                rt_rw="RT 003/RW 005", police_role="bhabinkamtibmas", police_name="Bripka Joko Susilo",
                police_phone="+6281277001000", guarantor_name="Siti Aminah", guarantor_phone="+6281399001000")
    base.update(overrides)
    return NoticeFacts(**base)


LONG = dict(client_name="Muhammad " + "Ābdurrahmān Ñ’Ωmega{x} " * 12, village_name="Sukamaju " * 30,
            officer_name="Raden Mas " + "Wiryo Kusumo " * 20, police_name="Brigadir " + "Polisi " * 40,
            bapas_name="Balai Pemasyarakatan Kelas II " + "Kabupaten Panjang " * 8)
ROLES = ("bhabinkamtibmas", "polsek", "polres", "village_office", "guarantor", "officer")


def _compose(role, f, link=None):
    return notices.compose(role, f, "Bripka Joko Susilo", link if role != "officer" else None) \
        if role != "guarantor" else notices.guarantor_sms(f, "Siti Aminah")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("reason", ["three_missed", "number_inactive"])
@pytest.mark.parametrize("overrides", [{}, LONG, {"police_phone": None, "police_name": None, "rt_rw": None,
                                                  "guarantor_phone": None}])
@pytest.mark.parametrize("link", [None, LINK])
def test_every_text_is_gsm7_in_at_most_two_segments(role, reason, overrides, link):
    f = facts(reason=reason, **overrides)
    if role in ("bhabinkamtibmas", "polsek", "polres") and reason == "number_inactive":
        with pytest.raises(ValueError):  # the police are never asked about a dead number
            _compose(role, f, link)
        return
    text = _compose(role, f, link)
    encoding, segments = sms_segments(text)
    linked = bool(link) and role not in ("officer", "guarantor")
    assert (encoding, segments <= (3 if linked else 2)) == ("GSM-7", True), text
    assert gsm7_length(text) <= (MAX_LINKED_SMS_CHARS if linked else MAX_SMS_CHARS)
    assert notices.short_ref(EID) in text  # the reference survives shortening
    assert "Pasal" not in text and "KUHP" not in text
    if link and role not in ("officer", "guarantor"):
        assert text.endswith(link)  # the reply link is never cut


@settings(max_examples=60, deadline=None, database=None)
@given(name=st.text(min_size=1, max_size=120), village=st.text(min_size=1, max_size=80),
       role=st.sampled_from(["bhabinkamtibmas", "village_office", "officer"]))
def test_any_names_fit_two_gsm7_segments(name, village, role):
    text = _compose(role, facts(client_name=name, village_name=village, officer_name=name), LINK)
    assert sms_segments(text)[0] == "GSM-7" and sms_segments(text)[1] <= (2 if role == "officer" else 3)


def test_police_text_reads_as_a_bapas_officer_writes_it():
    text = notices.police_sms(facts(), "Bripka Joko Susilo", LINK)
    assert text.startswith("Yth. Bapak/Ibu Bripka Joko")
    for part in ("Bapas Kelas I Jakarta Selatan", "memastikan keberadaan", "Sdr. Rudi",
                 "Kelurahan Jagakarsa", "PK Andi", "081100000002", "ESK-1A2B3C4D", LINK):
        assert part in text, part
    assert "mencari" not in text
    full = notices.police_sms(facts(), "Bripka Joko Susilo")
    assert "Kelurahan Jagakarsa RT 003/RW 005" in full and "PK Andi Saputra 081100000002" in full


def test_desa_or_kelurahan_from_the_code_and_rt_rw_from_the_address():
    assert notices.village_label("33.01.01.2001", "Tambakreja") == "Desa Tambakreja"
    assert notices.village_label("3174091001", "Jagakarsa") == "Kelurahan Jagakarsa"
    assert notices.village_label("33.01.01.2001", "Desa Tambakreja") == "Desa Tambakreja"
    assert "Desa Tambakreja" in notices.village_office_sms(facts(village_code="33.01.01.2001",
                                                                 village_name="Tambakreja"), None)
    assert notices.rt_rw_of("Jl. Melati No. 5 RT 3/RW 12, Jagakarsa") == "RT 003/RW 012"
    assert notices.rt_rw_of("Gg. Mawar rt.04 rw.007") == "RT 004/RW 007"
    assert notices.rt_rw_of("Jl. Kenanga No. 5") is None
    assert "RT" not in notices.police_sms(facts(rt_rw=None), "Bripka Joko")


def test_village_office_and_guarantor_texts_by_reason():
    dead = facts(reason="number_inactive")
    office = notices.village_office_sms(dead, "Sekretaris Lurah")
    assert "memastikan domisili" in office and "nomor HP" in office
    guarantor = notices.guarantor_sms(dead, "Siti Aminah")
    assert guarantor.startswith("Yth. Bapak/Ibu Siti Aminah, kami dari Bapas Kelas I Jakarta Selatan.")
    assert "PK Andi Saputra di 081100000002" in guarantor and "pemasyarakatan" not in guarantor
    assert notices.guarantor_sms(dead, None).startswith("Yth. Bapak/Ibu, kami dari")


def test_officer_text_names_who_was_asked_or_says_nobody_is_known():
    assert "Bhabinkamtibmas: Bripka Joko Susilo 081277001000" in notices.officer_sms(facts())
    assert "Polsek: Ipda Rahmat" in notices.officer_sms(facts(police_role="polsek", police_name="Ipda Rahmat"))
    assert "belum terdaftar" in notices.officer_sms(facts(police_phone=None, police_name=None))
    assert "04-12-2026" in notices.officer_sms(facts())
    dead = notices.officer_sms(facts(reason="number_inactive"))
    assert "penjamin Siti Aminah 081399001000" in dead and "Kelurahan Jagakarsa" in dead
    assert "penjamin tanpa nomor HP" in notices.officer_sms(facts(reason="number_inactive", guarantor_phone=None))


def test_long_names_are_shortened_not_dropped():
    text = notices.police_sms(facts(**LONG), "Brigadir Polisi Satu Dua Tiga")
    assert "Sdr. Muhammad" in text  # accents folded to GSM-7, start of the name kept
    assert "Raden" in text and "Kelurahan Sukamaju" in text and text.startswith("Yth. Bapak/Ibu Brigadir Polisi")
    assert "Balai Pemasyarakatan Kelas II Kabupaten Panjang" in text
    assert "Muhammad Abdurrahman" in notices.officer_sms(facts(client_name=LONG["client_name"]))


def test_segments_are_counted_for_gsm7_and_ucs2():
    assert sms_segments("a" * 160) == ("GSM-7", 1)
    assert sms_segments("a" * 161) == ("GSM-7", 2)
    assert sms_segments("{" * 80) == ("GSM-7", 1)  # extended characters take two septets
    assert sms_segments("{" * 81) == ("GSM-7", 2)
    assert sms_segments("ā" * 70) == ("UCS-2", 1)
    assert sms_segments("ā" * 71) == ("UCS-2", 2)
    assert sms_segments("ā" * 135) == ("UCS-2", 3)


def test_gsm7_counts_extended_characters_twice_and_rejects_others():
    assert gsm7_length("abc") == 3
    assert gsm7_length("{}") == 4
    assert gsm7_length("é") == 1
    assert gsm7_length("ā") is None
    assert notices.to_gsm7("  Ābdul \n Ñ’ ") == "Abdul Ñ"


def test_a_reply_link_must_be_a_plain_url():
    with pytest.raises(ValueError):
        notices.police_sms(facts(), "X", "https://x.example/r/ā")
    with pytest.raises(ValueError):
        notices.compose("coordinator", facts(), None)


def test_coordinator_message_carries_ids_and_statuses_not_the_name():
    text = notices.coordinator_message(facts(), "c0ffee00-0000-4000-8000-000000000000",
                                       {"bhabinkamtibmas": "deferred", "village_office": "no_contact"})
    assert "c0ffee00-0000-4000-8000-000000000000" in text and "Rudi" not in text
    assert "Bhabinkamtibmas ditunda ke pagi" in text and "kantor desa tanpa kontak" in text
    assert len(notices.coordinator_subject(replace(facts(), escalation_id=EID))) < 100


def test_a_deployed_reply_link_never_costs_the_clients_or_the_villages_name():
    """A deployed link is about 80 characters; the police and the village must still read whom they are asked
    about and where, in full (three segments when the link is there)."""
    link = "https://k3x9p2a7bq.execute-api.ap-southeast-3.amazonaws.com/r/AbCdEfGhIjKlMnOpQrStUv"
    f = facts()
    for role in ("bhabinkamtibmas", "village_office"):
        text = _compose(role, f, link)
        assert f.client_name in text and f.village_name in text and "Bripka Joko Susilo" in text, text
        assert text.endswith(link) and sms_segments(text) == ("GSM-7", 3)
