"""The escalation ladder in-process (moto): grace, daytime in the village's zone, recipients by reason, the
Polsek/Polres fallback, mobile-only recipients and the daily SMS cap. Above all the "must not send" cases: an
SMS to the police about a person on parole is a serious act.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from chalicelib.adapters.tables import AreaContactModel, NotificationModel
from chalicelib.domain.notices import sms_segments
from chalicelib.services import escalation
from tests.escalation_support import (
    BARE_VILLAGE,
    BHABIN_PHONE,
    GUARANTOR_PHONE,
    OFFICE_PHONE,
    PK_ANDI_PHONE,
    at_wib,
    checkin,
    escalations_of,
    notifications_of,
    put_village_contacts,
    register,
    run_and_drain,
    set_bapas,
    sms_to,
    today_wib,
    topic_messages,
    unreachable_client,
)

WITA_VILLAGE = "73.71.01.1001"  # Bontorannu, Makassar (UTC+8)
WIT_VILLAGE = "91.71.01.1001"  # Gurabesi, Jayapura (UTC+9)
POLSEK_PHONE, POLRES_PHONE = "+6281255501000", "+6281255502000"


def _statuses(escalation_id: str) -> dict[str, str]:
    return {r: n.status for r, n in notifications_of(escalation_id).items()}


def _sms_outside() -> list[str]:
    from tests.escalation_support import sns_backend

    return [to for to, _ in sns_backend().sms_messages.values() if to != PK_ANDI_PHONE]


def test_a_night_run_sends_nothing_outside_the_bapas_and_the_morning_run_sends_it(api):
    put_village_contacts(api)
    today = today_wib()
    night, morning = at_wib(today - timedelta(days=2), 22, 30), at_wib(today - timedelta(days=1), 8, 30)
    stays, returns = unreachable_client(api), unreachable_client(api)

    run_and_drain(night)
    for cid in (stays, returns):
        [esc] = escalations_of(cid)
        notes = notifications_of(esc.escalation_id)
        # Inside the Bapas at once; outside it held until 08:00 in the village's zone.
        assert {r: n.status for r, n in notes.items()} == {
            "bhabinkamtibmas": "deferred", "village_office": "deferred", "officer": "sent", "coordinator": "sent"}
        assert notes["bhabinkamtibmas"].send_after == at_wib(today - timedelta(days=1), 8, 0).astimezone(
            UTC).isoformat()
        # The text is composed at once, names in full beside the reply link.
        assert notes["bhabinkamtibmas"].text and "Yth. Bapak/Ibu Bripka Joko Susilo," in notes["bhabinkamtibmas"].text
        assert "/r/" in notes["bhabinkamtibmas"].text
    assert sms_to(BHABIN_PHONE) == [] and sms_to(OFFICE_PHONE) == []
    listed = api.get(f"/v1/escalations/{escalations_of(stays)[0].escalation_id}", "kasubsi.jaksel").json
    assert [(n["recipient_role"], n["status"], n["send_after"] is not None) for n in listed["notifications"][:2]] == [
        ("bhabinkamtibmas", "deferred", True), ("village_office", "deferred", True)]

    # Later night runs send nothing outside either (the release waits for send_after and daytime).
    run_and_drain(night + timedelta(hours=1))
    run_and_drain(at_wib(today - timedelta(days=1), 7, 59))
    assert sms_to(BHABIN_PHONE) == [] and sms_to(OFFICE_PHONE) == []

    # One client reports in overnight: what was held for them must never go.
    checkin(api, returns, at_wib(today - timedelta(days=2), 23, 10))
    result = run_and_drain(morning)
    assert result["escalate_unreachable"]["released"] == 2, result
    [kept] = escalations_of(stays)
    [ended] = escalations_of(returns)
    assert set(_statuses(kept.escalation_id).values()) == {"sent"}
    assert _statuses(ended.escalation_id) == {"bhabinkamtibmas": "cancelled", "village_office": "cancelled",
                                              "officer": "sent", "coordinator": "sent"}
    assert len(sms_to(BHABIN_PHONE)) == 1 and len(sms_to(OFFICE_PHONE)) == 1
    # Released once: later runs find nothing held.
    again = run_and_drain(morning + timedelta(hours=1))
    assert again["escalate_unreachable"]["released"] == 0
    assert len(sms_to(BHABIN_PHONE)) == 1 and len(sms_to(OFFICE_PHONE)) == 1


def test_daytime_is_the_villages_own_time_zone(api):
    """The hourly run serves WIB, WITA and WIT: 07:30 WIB is 08:30 WITA and 09:30 WIT."""
    for code in (WITA_VILLAGE, WIT_VILLAGE):
        put_village_contacts(api, code=code, phone="0812-7700-1000", office=None)
    wib_client, wita_client, wit_client = (unreachable_client(api), unreachable_client(api, village=WITA_VILLAGE),
                                           unreachable_client(api, village=WIT_VILLAGE))
    put_village_contacts(api, office=None)
    day = today_wib() - timedelta(days=1)
    run_and_drain(at_wib(day, 7, 30))
    by_client = {cid: _statuses(escalations_of(cid)[0].escalation_id)["bhabinkamtibmas"]
                 for cid in (wib_client, wita_client, wit_client)}
    assert by_client == {wib_client: "deferred", wita_client: "sent", wit_client: "sent"}
    # 17:30 WIB is 18:30 WITA: a new WITA escalation then waits for the morning.
    late_wita = unreachable_client(api, village=WITA_VILLAGE)
    run_and_drain(at_wib(day, 17, 30))
    assert _statuses(escalations_of(late_wita)[0].escalation_id)["bhabinkamtibmas"] == "deferred"
    assert _statuses(escalations_of(wib_client)[0].escalation_id)["bhabinkamtibmas"] == "sent"  # released at 17:30


def test_grace_period_and_a_late_offline_record(api):
    put_village_contacts(api)
    set_bapas(grace_hours=24)
    today = today_wib()
    start = today - timedelta(days=42)
    cid = register(api, start)
    for week in range(3):  # weeks 0-2 met; 3, 4, 5 missed: the episode begins when week 5 closes (day 42)
        checkin(api, cid, at_wib(start + timedelta(days=7 * week + 1), 10))
    episode = at_wib(today, 0)
    got = api.get(f"/v1/clients/{cid}", "pk.andi").json["compliance"]
    assert (got["state"], got["reason"]) == ("unreachable", "three_missed")
    assert got["escalation_due_at"] == (episode + timedelta(hours=24)).astimezone(UTC).isoformat()

    assert run_and_drain(at_wib(today, 9))["escalate_unreachable"]["in_grace"] == 1
    assert escalations_of(cid) == [] and _sms_outside() == []
    # The PK's offline record of the last day of week 5 syncs within the grace period: the episode never was.
    checkin(api, cid, at_wib(today - timedelta(days=1), 20))
    run_and_drain(at_wib(today + timedelta(days=1), 9))
    assert escalations_of(cid) == [] and _sms_outside() == [] and sms_to(PK_ANDI_PHONE) == []
    assert api.get(f"/v1/clients/{cid}", "pk.andi").json["compliance"]["state"] in ("due", "missed")


def test_a_dead_number_reaches_the_pk_guarantor_and_village_office_never_the_police(api):
    put_village_contacts(api)
    today = today_wib()
    phones = [{"number": "0812-3456-7890", "owner": "client"},
              {"number": "021-7890-1234", "owner": "guarantor", "name": "Bu Siti (rumah)"},
              {"number": "0813-9900-1000", "owner": "guarantor", "name": "Siti Aminah"}]
    dead = register(api, today - timedelta(days=10), phones=phones)
    landline_only = register(api, today - timedelta(days=10), phones=[
        {"number": "0812-3456-7890", "owner": "client"}, {"number": "(021) 7890-1234", "owner": "guarantor"}])
    dead_at = at_wib(today - timedelta(days=4), 10)
    for cid in (dead, landline_only):
        checkin(api, cid, dead_at, outcome="number_inactive")

    run_and_drain(at_wib(today - timedelta(days=3), 9))  # 23 hours later: within the 48-hour grace period
    assert escalations_of(dead) == [] and _sms_outside() == []
    run_and_drain(at_wib(today - timedelta(days=2), 10, 30))
    [esc] = escalations_of(dead)
    assert esc.reason == "number_inactive"
    notes = notifications_of(esc.escalation_id)
    assert {r: n.status for r, n in notes.items()} == {"guarantor": "sent", "village_office": "sent", "officer": "sent"}
    assert notes["guarantor"].to == GUARANTOR_PHONE  # the mobile one, not the landline
    assert sms_to(BHABIN_PHONE) == []  # never the police for a dead number
    [to_guarantor] = sms_to(GUARANTOR_PHONE)
    assert "Yth. Bapak/Ibu Siti Aminah" in to_guarantor and "PK Andi Saputra di 081100000002" in to_guarantor
    assert "Pasal" not in to_guarantor and "pemasyarakatan" not in to_guarantor
    [pk] = [m for m in sms_to(PK_ANDI_PHONE) if "Siti" in m]
    assert "penjamin Siti Aminah 081399001000" in pk
    assert any("nomor HP" in m for m in sms_to(OFFICE_PHONE))

    # A guarantor with only a landline is never sent an SMS; the coordinators are told nobody was reached.
    [esc2] = escalations_of(landline_only)
    notes = notifications_of(esc2.escalation_id)
    assert notes["guarantor"].status == "no_contact" and "mobile" in notes["guarantor"].error
    assert notes["coordinator"].status == "sent" and "bhabinkamtibmas" not in notes
    assert len(sms_to("+62217890123")) == 0 and len(sms_to("+622178901234")) == 0


def test_a_village_without_a_bhabinkamtibmas_uses_the_kecamatan_polsek_then_the_polres(api):
    for code, body in (("31.74.09", {"polsek": {"name": "Ipda Rahmat", "phone": "0812-5550-1000"}}),
                       ("31.74", {"polres": {"name": "Kompol Wahyu", "phone": "0812-5550-2000"}})):
        r = api.put(f"/v1/areas/{code}/contacts", "kasubsi.jaksel", body)
        assert r.status == 201, r
    first = unreachable_client(api, village=BARE_VILLAGE)
    run_and_drain(at_wib(today_wib(), 10))
    [esc] = escalations_of(first)
    notes = notifications_of(esc.escalation_id)
    assert (notes["polsek"].status, notes["polsek"].to) == ("sent", POLSEK_PHONE)
    assert "bhabinkamtibmas" not in notes and "polres" not in notes
    [text] = sms_to(POLSEK_PHONE)
    assert text.startswith("Yth. Bapak/Ibu Ipda Rahmat, Bapas Kelas I Jakarta Selatan mohon bantuan memastikan")
    assert "Polsek: Ipda Rahmat 081255501000" in [m for m in sms_to(PK_ANDI_PHONE)][-1]

    AreaContactModel.get("jaksel", "31.74.09").delete()
    second = unreachable_client(api, village=BARE_VILLAGE)
    run_and_drain(at_wib(today_wib(), 11))
    notes = notifications_of(escalations_of(second)[0].escalation_id)
    assert (notes["polres"].status, notes["polres"].to) == ("sent", POLRES_PHONE)
    assert len(sms_to(POLSEK_PHONE)) == 1


def test_the_daily_cap_defers_the_excess_to_the_next_morning(api, capsys):
    put_village_contacts(api)
    set_bapas(sms_daily_cap=3)
    clients = [unreachable_client(api) for _ in range(2)]  # 4 SMS outside the Bapas: 3 go, 1 waits
    day = today_wib() - timedelta(days=2)
    run_and_drain(at_wib(day, 10))
    outside = [n for cid in clients for n in notifications_of(escalations_of(cid)[0].escalation_id).values()
               if n.recipient in ("bhabinkamtibmas", "village_office")]
    assert sorted(n.status for n in outside) == ["deferred", "sent", "sent", "sent"]
    [held] = [n for n in outside if n.status == "deferred"]
    assert held.send_after == at_wib(day + timedelta(days=1), 8).astimezone(UTC).isoformat()
    assert held.error == "daily SMS cap reached"
    assert '"SmsCapReached"' in capsys.readouterr().out  # the alarm metric
    assert len(_sms_outside()) == 3
    run_and_drain(at_wib(day, 15))  # the same day: still capped, still held
    assert len(_sms_outside()) == 3
    run_and_drain(at_wib(day + timedelta(days=1), 8, 5))  # the next morning: sent, once
    run_and_drain(at_wib(day + timedelta(days=1), 9, 5))
    assert len(_sms_outside()) == 4
    assert NotificationModel.get(held.escalation_id, held.recipient).status == "sent"


def test_every_text_fits_its_segments_and_topic_messages_carry_the_bapas(api):
    """Two GSM-7 segments at most; three for the texts with the reply link (village and police)."""
    from chalicelib.adapters.aws import client

    put_village_contacts(api)
    cid = unreachable_client(api)
    published: list[dict] = []
    sns = client("sns")
    sns.meta.events.register("before-call.sns.Publish", lambda params, **_: published.append(params),
                             unique_id="test-publish-bapas")
    try:
        run_and_drain(at_wib(today_wib(), 10))
    finally:
        sns.meta.events.unregister("before-call.sns.Publish", unique_id="test-publish-bapas")
    [topic] = [p["body"] for p in published if "TopicArn" in p["body"]]
    assert (topic["MessageAttributes.entry.1.Name"], topic["MessageAttributes.entry.1.Value.StringValue"]) == (
        "bapas_id", "jaksel")
    for n in notifications_of(escalations_of(cid)[0].escalation_id).values():
        if n.channel == "sms":
            encoding, segments = sms_segments(n.text)
            assert encoding == "GSM-7" and segments <= (3 if "/r/" in n.text else 2), n.text
    assert len(topic_messages(api.resources.coordinators_topic_arn)) == 1
    assert escalation.RECIPIENTS[:3] == ("bhabinkamtibmas", "polsek", "polres")


def test_village_and_area_contacts_must_be_mobile_numbers(api):
    from tests.escalation_support import VILLAGE
    from tests.support import assert_problem

    for number in ("021-7890-1234", "0800-1-234567", "0809-8-123456", "0804-1-500-400"):  # landline, toll-free,
        body = {"bhabinkamtibmas": {"name": "Bripka Joko", "phone": number}}       # premium rate, shared cost
        problem = assert_problem(api.put(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel", body), 422)
        assert [e["field"] for e in problem["errors"]] == ["bhabinkamtibmas.phone"], problem
        assert "mobile" in problem["errors"][0]["message"]
        body = {"bhabinkamtibmas": {"name": "Bripka Joko", "phone": "0812-7700-1000"},
                "village_office": {"name": "Kantor Lurah", "phone": number}}
        problem = assert_problem(api.put(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel", body), 422)
        assert [e["field"] for e in problem["errors"]] == ["village_office.phone"], problem
        problem = assert_problem(api.put("/v1/areas/31.74.09/contacts", "kasubsi.jaksel",
                                         {"polsek": {"name": "Polsek Jagakarsa", "phone": number}}), 422)
        assert [e["field"] for e in problem["errors"]] == ["polsek.phone"], problem
    assert_problem(api.get(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel"), 404)  # nothing half-written
    # A village with only its office on record (no Bhabinkamtibmas) is fine.
    r = api.put(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel",
                {"village_office": {"name": "Kantor Lurah", "phone": "0812-7700-2000"}})
    assert r.status == 201 and r.json["bhabinkamtibmas"] is None, r


def test_area_contacts_by_kemendagri_level(api):
    from tests.support import assert_problem

    assert_problem(api.get("/v1/areas/31.74.09/contacts", "kasubsi.jaksel"), 404)
    r = api.put("/v1/areas/317409/contacts", "kasubsi.jaksel", {"polsek": {"name": "Ipda Rahmat",
                                                                          "phone": "0812-5550-1000"}})
    assert r.status == 201, r
    assert {k: r.json[k] for k in ("area_code", "area_name", "level", "polsek", "polres", "version")} == {
        "area_code": "31.74.09", "area_name": "Jagakarsa", "level": "kecamatan",
        "polsek": {"name": "Ipda Rahmat", "phone": POLSEK_PHONE}, "polres": None, "version": 1}
    again = api.put("/v1/areas/31.74.09/contacts", "kasubsi.jaksel", {"polsek": {"name": "Iptu Rahmat",
                                                                               "phone": "0812-5550-1000"}})
    assert (again.status, again.json["version"]) == (200, 2)
    assert api.get("/v1/areas/31.74.09/contacts", "pk.andi").json["polsek"]["name"] == "Iptu Rahmat"
    assert api.get("/v1/areas/31.74.09/contacts?bapas_id=jaksel", "admin.pusat").status == 200
    assert_problem(api.get("/v1/areas/31.74.09/contacts", "kasubsi.makassar"), 404)  # each Bapas its own
    r = api.put("/v1/areas/31.74/contacts", "kasubsi.jaksel", {"polres": {"name": "Kompol Wahyu",
                                                                        "phone": "0812-5550-2000"}})
    assert r.status == 201 and r.json["level"] == "kabupaten", r
    assert_problem(api.put("/v1/areas/31.74.09/contacts", "kasubsi.jaksel",
                           {"polres": {"name": "X", "phone": "0812-5550-2000"}}), 422, "polres")
    assert_problem(api.put("/v1/areas/31.74/contacts", "kasubsi.jaksel",
                           {"polsek": {"name": "X", "phone": "0812-5550-2000"}}), 422, "polsek")
    assert_problem(api.put("/v1/areas/31.74/contacts", "kasubsi.jaksel", {}), 422, "polres")
    for bad in ("31.74.09.1001", "31", "99.99", "31.7409", "abc"):
        assert_problem(api.put(f"/v1/areas/{bad}/contacts", "kasubsi.jaksel",
                               {"polsek": {"name": "X", "phone": "0812-5550-2000"}}), 422, "area_code")
    assert_problem(api.put("/v1/areas/31.74.09/contacts", "pk.andi",
                           {"polsek": {"name": "X", "phone": "0812-5550-2000"}}), 403)


def test_each_coordinator_receives_only_their_own_bapas_escalations(api):
    """The filter policy set where subscriptions are made (infra/subscriptions.py) against the `bapas_id`
    attribute the outbound layer puts on every topic message."""
    from chalicelib.adapters.aws import client
    from infra.subscriptions import filter_policy, subscribe_coordinator, unfiltered

    sns, sqs = client("sns"), client("sqs")
    topic = api.resources.coordinators_topic_arn
    inboxes = {}
    for bapas in ("jaksel", "makassar"):
        url = sqs.create_queue(QueueName=f"inbox-{bapas}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscribe_coordinator(sns, topic, bapas, "sqs", arn)
        inboxes[bapas] = url
    assert unfiltered(sns, topic) == []
    assert filter_policy("jaksel") == '{"bapas_id":["jaksel"]}'

    put_village_contacts(api)
    cid = unreachable_client(api)
    run_and_drain(at_wib(today_wib(), 10))
    received = {b: sqs.receive_message(QueueUrl=u, MaxNumberOfMessages=10).get("Messages", [])
                for b, u in inboxes.items()}
    assert len(received["jaksel"]) == 1 and received["makassar"] == []
    import json

    body = json.loads(received["jaksel"][0]["Body"])
    assert body["MessageAttributes"]["bapas_id"]["Value"] == "jaksel" and cid in body["Message"]
    # A subscription made without the tool (no filter policy) is reported.
    stray = sqs.create_queue(QueueName="inbox-unfiltered")["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sqs.get_queue_attributes(
        QueueUrl=stray, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    assert len(unfiltered(sns, topic)) == 1
