"""The scheduled escalation in-process (moto): exactly once per episode under re-runs, concurrency and crashes.

Tests are few and long on purpose: each `api` fixture costs a fresh moto account with Cognito and tables.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from lokal.holidays import add_working_days as lokal_add_working_days

from chalicelib.adapters.tables import AuditModel, ClientModel, VillageContactModel
from chalicelib.domain import compliance as rules
from chalicelib.domain.notices import MAX_LINKED_SMS_CHARS, gsm7_length, short_ref
from chalicelib.schemas.escalations import EscalationList, TaskList
from chalicelib.services import escalation
from chalicelib.services.clients import evaluate_client, schedule_of
from tests.escalation_support import (
    BARE_VILLAGE,
    BHABIN_PHONE,
    OFFICE_PHONE,
    PK_ANDI_PHONE,
    VILLAGE,
    at_wib,
    atomic_dynamodb_writes,
    checkin,
    dynamodb_calls,
    escalations_of,
    notifications_of,
    put_village_contacts,
    register,
    run_and_drain,
    sms_to,
    today_wib,
    topic_messages,
    unreachable_client,
)
from tests.support import assert_problem

PK_BUDI_PHONE = "+6281100000003"


def _item(client_id: str) -> ClientModel:
    return ClientModel.get(client_id, consistent_read=True)


def _message(client_id: str, as_of: datetime) -> escalation.EscalationMessage:
    result = evaluate_client(_item(client_id), "Asia/Jakarta", as_of)  # the episode does not depend on grace
    assert result.episode_started_at is not None
    return escalation.EscalationMessage(client_id, result.episode_started_at, as_of)


def _sqs_record(message_id: str, body: str) -> dict:
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": body, "attributes": {},
            "messageAttributes": {}, "eventSource": "aws:sqs"}


def _statuses(escalation_id: str) -> dict[str, str]:
    return {r: n.status for r, n in notifications_of(escalation_id).items()}


# ----- the "done when", in-process ------------------------------------------------------------------

def test_one_episode_is_escalated_and_notified_exactly_once(api):
    put_village_contacts(api)
    cid = unreachable_client(api)
    today = today_wib()
    topic = api.resources.coordinators_topic_arn

    result = run_and_drain(at_wib(today))
    assert result["escalate_unreachable"]["enqueued"] == 1, result
    assert result["escalation_worker"] == {"batches": 1, "messages": 1, "deleted": 1, "failed": 0}, result

    [esc] = escalations_of(cid)
    start = today - timedelta(days=42)
    episode = at_wib(start + timedelta(days=35), 0)  # weeks 3-6 missed: it began when week 5 closed
    assert esc.reason == "three_missed" and esc.state == "open" and int(esc.consecutive_missed) == 4
    assert esc.episode_started_at == episode.astimezone(UTC).isoformat()
    assert esc.escalation_id == escalation.escalation_id_for(cid, episode)
    assert _item(cid).open_escalation_id == esc.escalation_id

    [bhabin_sms] = sms_to(BHABIN_PHONE)
    # The reply link (issue 12) is kept whole; names give up words to make room for it within two segments.
    assert re.search(r" Jawab di http://\S+/r/[A-Za-z0-9_-]{22}$", bhabin_sms), bhabin_sms
    for part in ("Yth. Bapak/Ibu Bripka Joko Susilo,", "Bapas Kelas I Jakarta Selatan", "memastikan keberadaan",
                 "Sdr. Klien Uji", "Jagakarsa", "081100000002", short_ref(esc.escalation_id)):
        assert part in bhabin_sms, (part, bhabin_sms)
    assert "Pasal" not in bhabin_sms and "KUHP" not in bhabin_sms and "mencari" not in bhabin_sms
    assert gsm7_length(bhabin_sms) <= MAX_LINKED_SMS_CHARS and "/r/" in bhabin_sms  # three segments with the link
    [office_sms] = sms_to(OFFICE_PHONE)
    assert "Yth. Bapak/Ibu Sekretaris Lurah" in office_sms and "Pasal" not in office_sms
    assert re.search(r" Jawab di http://\S+/r/[A-Za-z0-9_-]{22}$", office_sms), office_sms  # its own link
    [pk_sms] = sms_to(PK_ANDI_PHONE)
    assert "Bhabinkamtibmas: Bripka Joko Susilo 081277001000" in pk_sms
    [(_, published, _)] = [(m[0], m[1], m[2]) for m in topic_messages(topic)]
    assert "Klien Uji" not in published

    r = api.get("/v1/escalations?state=open", "kasubsi.jaksel")
    assert r.status == 200, r
    [item] = r.json["items"]
    assert {k: item[k] for k in ("id", "client_id", "reason", "consecutive_missed", "state", "opened_at")} == {
        "id": esc.escalation_id, "client_id": cid, "reason": "three_missed", "consecutive_missed": 4,
        "state": "open", "opened_at": esc.opened_at}
    assert [{k: n[k] for k in ("recipient_role", "channel", "to", "status")} for n in item["notifications"]] == [
        {"recipient_role": "bhabinkamtibmas", "channel": "sms", "to": BHABIN_PHONE, "status": "sent"},
        {"recipient_role": "village_office", "channel": "sms", "to": OFFICE_PHONE, "status": "sent"},
        {"recipient_role": "officer", "channel": "sms", "to": PK_ANDI_PHONE, "status": "sent"},
        {"recipient_role": "coordinator", "channel": "sns_topic", "to": topic, "status": "sent"},
    ]
    assert [n["text"] for n in item["notifications"][:3]] == [bhabin_sms, office_sms, pk_sms]
    assert api.get(f"/v1/escalations/{esc.escalation_id}", "pk.andi").json == item
    [task] = api.get("/v1/tasks", "pk.andi").json["items"]
    assert task["kind"] == "home_visit" and task["client_id"] == cid and task["escalation_id"] == esc.escalation_id
    # Due three working days after it opened: weekends, national holidays and cuti bersama skipped (lokal).
    assert task["state"] == "open" and task["due_date"] == lokal_add_working_days(today_wib(), 3).isoformat()

    # Re-runs the same day and a week later: nothing new is opened or sent.
    again = run_and_drain(at_wib(today))
    assert again["escalate_unreachable"]["due"] == 0 and again["escalation_worker"] == {}
    later = run_and_drain(at_wib(today + timedelta(days=7)))["escalate_unreachable"]
    assert (later["due"], later["already_escalated"], later["enqueued"]) == (1, 1, 0)
    assert len(sms_to(BHABIN_PHONE)) == 1 and len(sms_to(PK_ANDI_PHONE)) == 1 and len(topic_messages(topic)) == 1
    assert len(escalations_of(cid)) == 1

    # A counted contact ends the episode: the client is compliant again, as the rules module says.
    checkin(api, cid, datetime.now(UTC) - timedelta(minutes=1))
    got = api.get(f"/v1/clients/{cid}", "pk.andi").json["compliance"]
    assert got["state"] == "compliant" and got["consecutive_missed"] == 0
    _assert_compliance_agrees(got, cid)

    # Three more missed weeks: a new episode, escalated once its grace period is over, notified once.
    assert run_and_drain(at_wib(today + timedelta(days=28)))["escalate_unreachable"]["in_grace"] == 1
    assert len(escalations_of(cid)) == 1
    for _ in range(2):
        run_and_drain(at_wib(today + timedelta(days=30)))
    first, second = sorted(escalations_of(cid), key=lambda e: e.opened_at)
    assert second.escalation_id != first.escalation_id and second.reason == "three_missed"
    assert int(second.consecutive_missed) == 3
    assert first.episode_ended_at is not None and first.episode_ended_at > first.episode_started_at
    assert _item(cid).open_escalation_id == second.escalation_id
    assert len(sms_to(BHABIN_PHONE)) == 2 and len(sms_to(PK_ANDI_PHONE)) == 2 and len(topic_messages(topic)) == 2


def _assert_compliance_agrees(got: dict, client_id: str) -> None:
    """`compliance` in GET /v1/clients/{id} is the rules module's verdict on the client's stored facts."""
    item = _item(client_id)
    contacts = [rules.Contact(datetime.fromisoformat(f.split("|")[0]), rules.ContactKind(f.split("|")[1]))
                for f in item.contacts]
    assert got == rules.evaluate(schedule_of(item, "Asia/Jakarta"), contacts, datetime.now(UTC)).to_api()
    assert got["reason"] in (None, "three_missed", "number_inactive")


# ----- concurrency and crashes ------------------------------------------------------------------------------

def test_two_runs_and_two_workers_at_once_open_one_escalation_and_send_once(api):
    import app as application
    from chalicelib.adapters.aws import client
    from infra.invoke import drain, sqs_event

    put_village_contacts(api)
    andi, budi = unreachable_client(api), unreachable_client(api, officer="pk.budi")
    as_of = at_wib(today_wib())
    queue = api.resources.escalation_queue_url

    def together(fn, n=2):
        barrier, errors = threading.Barrier(n), []

        def go(i):
            barrier.wait()
            try:
                fn(i)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors

    with atomic_dynamodb_writes():
        together(lambda _: escalation.run(as_of))  # two runs at once: each may enqueue both clients
    sqs = client("sqs")
    messages = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        messages += batch
    assert 2 <= len(messages) <= 4
    bodies = [m["Body"] for m in messages]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # Two workers at once, each with a batch of every message (duplicates included).
    with atomic_dynamodb_writes():
        together(lambda _: application.escalation_worker(sqs_event(messages, arn, "ap-southeast-3"), None))
    for m in messages:  # whatever a worker left unfinished comes back, as SQS would redeliver it
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    drain(queue, application.escalation_worker, retry_failed=True, max_batches=5)

    assert {json.loads(b)["client_id"] for b in bodies} == {andi, budi}
    for cid in (andi, budi):
        [esc] = escalations_of(cid)
        assert set(_statuses(esc.escalation_id).values()) == {"sent"}
    assert len(sms_to(BHABIN_PHONE)) == 2 and len(sms_to(OFFICE_PHONE)) == 2  # one per client
    assert len(sms_to(PK_ANDI_PHONE)) == 1 and len(sms_to(PK_BUDI_PHONE)) == 1
    assert len(topic_messages(api.resources.coordinators_topic_arn)) == 2


def test_a_worker_killed_mid_way_resumes_without_resending(api, monkeypatch):
    put_village_contacts(api, office=None)  # three recipients: the Bhabinkamtibmas, the PK, the coordinators
    first_client, second_client = unreachable_client(api), unreachable_client(api, officer="pk.budi")
    as_of = at_wib(today_wib() + timedelta(days=1))  # an instant of its own: claims age with the message's clock
    topic = api.resources.coordinators_topic_arn
    real_send = escalation.outbound.send

    def die_on(nth):
        calls = {"n": 0}

        def send(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == nth:
                raise RuntimeError("worker killed")
            return real_send(*args, **kwargs)

        monkeypatch.setattr(escalation.outbound, "send", send)

    def live():
        monkeypatch.setattr(escalation.outbound, "send", real_send)

    stale = escalation.CLAIM_STALE_AFTER + timedelta(seconds=1)
    sending = {"bhabinkamtibmas": "sent", "village_office": "no_contact", "officer": "sending",
               "coordinator": "sending"}

    # 1. Killed after the first of three notifications went out and was marked sent.
    die_on(2)
    with pytest.raises(RuntimeError):
        escalation.process(_message(first_client, as_of))
    live()
    [esc] = escalations_of(first_client)
    # The opening transaction claimed all three for the worker that died: nobody re-takes them at once ...
    assert _statuses(esc.escalation_id) == sending
    with pytest.raises(escalation.RetryLater):
        escalation.process(_message(first_client, as_of))
    assert len(sms_to(BHABIN_PHONE)) == 1 and sms_to(PK_ANDI_PHONE) == [] and topic_messages(topic) == []
    # ... and the message SQS redelivers once the claim is stale sends only the other two.
    assert escalation.process(_message(first_client, as_of + stale)) == "sent 2"
    assert set(_statuses(esc.escalation_id).values()) == {"sent", "no_contact"}
    assert len(sms_to(BHABIN_PHONE)) == 1 and len(sms_to(PK_ANDI_PHONE)) == 1 and len(topic_messages(topic)) == 1
    assert escalation.process(_message(first_client, as_of + stale)) == "sent 0"  # a late duplicate: nothing

    # 2. Killed right after opening, then a resuming worker killed after re-claiming the second one.
    die_on(1)
    with pytest.raises(RuntimeError):
        escalation.process(_message(second_client, as_of))
    [esc] = escalations_of(second_client)
    assert set(_statuses(esc.escalation_id).values()) == {"sending", "no_contact"}
    die_on(2)
    with pytest.raises(RuntimeError):
        escalation.process(_message(second_client, as_of + stale))
    live()
    assert _statuses(esc.escalation_id) == sending
    with pytest.raises(escalation.RetryLater):  # the officer's fresh claim is respected; the stale one is taken
        escalation.process(_message(second_client, as_of + stale))
    assert sms_to(PK_BUDI_PHONE) == [] and len(topic_messages(topic)) == 2
    assert escalation.process(_message(second_client, as_of + 2 * stale)) == "sent 1"
    assert set(_statuses(esc.escalation_id).values()) == {"sent", "no_contact"}
    assert len(sms_to(BHABIN_PHONE)) == 2 and len(sms_to(PK_BUDI_PHONE)) == 1 and len(topic_messages(topic)) == 2
    assert {r: int(n.attempts) for r, n in notifications_of(esc.escalation_id).items()} == {
        "bhabinkamtibmas": 2, "village_office": 0, "officer": 3, "coordinator": 2}


# ----- recipients and the batch ---------------------------------------------------------------------------

def test_recipients_without_contact_or_rejected_and_a_bad_message_in_the_batch(api, caplog, capsys):
    import logging

    import app as application

    caplog.set_level(logging.INFO)  # what runs in production

    put_village_contacts(api, office=None)
    contact = VillageContactModel.get("jaksel", VILLAGE)
    contact.bhabinkamtibmas = {"name": "Bripka Joko Susilo", "phone": "+0812"}  # past the API: not a number
    contact.save()
    rejected, bare = unreachable_client(api), unreachable_client(api, village=BARE_VILLAGE)
    as_of = at_wib(today_wib())

    def body(cid):
        m = _message(cid, as_of)
        return json.dumps({"client_id": cid, "episode_started_at": m.episode_started_at.isoformat(),
                           "as_of": as_of.isoformat()})

    records = [_sqs_record("m-rejected", body(rejected)), _sqs_record("m-bad", '{"client_id": "not-a-uuid"}'),
               _sqs_record("m-bare", body(bare)), _sqs_record("m-junk", "{{")]
    from chalicelib.adapters.aws import client

    published: list[dict] = []
    sns = client("sns")
    sns.meta.events.register("before-call.sns.Publish", lambda params, **_: published.append(params),
                             unique_id="test-publish")
    try:
        response = application.escalation_worker({"Records": records}, None)
    finally:
        sns.meta.events.unregister("before-call.sns.Publish", unique_id="test-publish")
    sms = [p for p in published if "PhoneNumber" in p["body"]]
    assert len(sms) == 2 and all(  # SMS go out as transactional, under the sender id (the two PK SMS)
        p["body"]["MessageAttributes.entry.1.Name"] == "AWS.SNS.SMS.SMSType"
        and p["body"]["MessageAttributes.entry.1.Value.StringValue"] == "Transactional"
        and p["body"]["MessageAttributes.entry.2.Value.StringValue"] == "PANTAU" for p in sms), sms
    # Only the malformed messages fail; a rejected phone is an outcome, not a reason to retry.
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["m-bad", "m-junk"]

    [esc] = escalations_of(rejected)
    notes = notifications_of(esc.escalation_id)
    # A number that is not a mobile one (here: not a number at all) is never sent an SMS.
    assert notes["bhabinkamtibmas"].status == "no_contact" and "phone number" in notes["bhabinkamtibmas"].error
    assert notes["officer"].status == "sent"
    listed = {e["client_id"]: e for e in api.get("/v1/escalations", "kasubsi.jaksel").json["items"]}
    assert listed[rejected]["notifications"][0]["status"] == "no_contact"

    [esc_bare] = escalations_of(bare)
    assert listed[bare]["notifications"][0] == {**listed[bare]["notifications"][0], "recipient_role": "bhabinkamtibmas",
                                                "to": None, "status": "no_contact", "text": None}
    assert _statuses(esc_bare.escalation_id) == {"bhabinkamtibmas": "no_contact", "village_office": "no_contact",
                                                 "officer": "sent", "coordinator": "sent"}
    assert sum("belum terdaftar" in m for m in sms_to(PK_ANDI_PHONE)) == 1

    application.escalation_worker({"Records": records[:1]}, None)  # redelivered: nothing more to send
    assert int(notifications_of(esc.escalation_id)["officer"].attempts) == 1

    # The worker logged what happened (ids, codes, counts) and never a name, a phone number or a message.
    logged = "\n".join(str(vars(record)) for record in caplog.records) + capsys.readouterr().out
    assert "message sent" in logged and esc.escalation_id in logged
    # (phone fragments long enough not to occur by chance in timestamps and durations)
    for secret in ("Klien Uji", "Bripka", "Joko", "Andi Saputra", "+0812", "81277001000", "81100000002", "Jagakarsa",
                   "Pasal",
                   "PANTAU", "dihubungi"):
        assert secret not in logged, secret


# ----- the due index --------------------------------------------------------------------------------------

def test_the_run_reads_the_due_index_only_and_moves_due_at(api):
    import app as application
    from infra.invoke import drain

    put_village_contacts(api)
    today = today_wib()
    as_of = at_wib(today)
    unreachable = [unreachable_client(api) for _ in range(2)]
    missed = [register(api, today - timedelta(days=10)) for _ in range(3)]  # `missed`; due when week 2 closes
    fresh = register(api, today)
    ending = register(api, today - timedelta(days=175))  # a 180-day period that ends in five days
    corrupt = unreachable_client(api)
    ClientModel(corrupt).update(actions=[ClientModel.contacts.set(["not a fact"])])  # must not stop the run
    assert _item(missed[0]).due_at == at_wib(today + timedelta(days=4), 0).astimezone(UTC).isoformat()

    with dynamodb_calls() as run_calls:
        summary = escalation.run(as_of)
    assert run_calls["Scan"] == 0
    assert (summary["due"], summary["unreachable"], summary["enqueued"]) == (4, 3, 3)  # incl. the ending one
    assert summary["errors"] == 1 and _item(corrupt).due_at < as_of.astimezone(UTC).isoformat()  # still due
    assert run_calls["Query"] == 16  # one per due-index shard and one per deferred-index shard (a page each)
    assert run_calls["UpdateItem"] == 3  # due_at moved forward: one write per due client
    with dynamodb_calls() as worker_calls:
        drain(api.resources.escalation_queue_url, application.escalation_worker)
    # Per escalation: one transaction, which also writes the reply links (Bhabinkamtibmas, village office: the
    # hashed link and its audit entry).
    assert worker_calls["Scan"] == 0 and worker_calls["TransactWriteItems"] == 3 * 1
    # Per escalation: GetItem client + village contacts, the transaction, one `sent` mark per notification (4)
    # and one daily-cap counter per SMS outside the Bapas (Bhabinkamtibmas, village office).
    assert sum(worker_calls.values()) == 3 * 9, dict(worker_calls)
    for cid, window_closes in ((unreachable[0], 7), (unreachable[1], 7), (ending, 6)):
        assert len(escalations_of(cid)) == 1
        assert _item(cid).due_at == at_wib(today + timedelta(days=window_closes), 0).astimezone(UTC).isoformat()
    for cid in (*missed, fresh):
        assert escalations_of(cid) == []
    print(f"\nDynamoDB requests for 3 due (escalated) clients: run {dict(run_calls)}, worker {dict(worker_calls)}")

    assert escalation.run(at_wib(today + timedelta(days=4)))["moved"] == 3  # the `missed` ones, a window later
    assert _item(missed[0]).due_at == at_wib(today + timedelta(days=11), 0).astimezone(UTC).isoformat()
    summary = escalation.run(at_wib(today + timedelta(days=10)))
    assert summary["ended"] == 1 and _item(ending).due_at is None and _item(ending).due_shard is None


def test_a_dead_phone_and_a_late_record_that_moves_the_episode_start(api):
    put_village_contacts(api)
    today = today_wib()
    dead = register(api, today - timedelta(days=3))
    checkin(api, dead, datetime.now(UTC) - timedelta(hours=2), outcome="number_inactive")
    start = today - timedelta(days=42)
    late = register(api, start)
    checkin(api, late, at_wib(start + timedelta(days=1), 10))

    run_and_drain(at_wib(today + timedelta(days=1)))  # within the dead number's grace period: not yet
    assert escalations_of(dead) == []
    run_and_drain(at_wib(today + timedelta(days=3)))
    [esc_dead] = escalations_of(dead)
    assert esc_dead.reason == "number_inactive" and int(esc_dead.consecutive_missed) == 0
    assert set(notifications_of(esc_dead.escalation_id)) == {"officer", "village_office"}  # never the police
    [first] = escalations_of(late)  # weeks 2-6 missed: the episode began when week 4 closed
    assert len(sms_to(BHABIN_PHONE)) == 1  # the `late` client's only

    # An offline check-in of week 2 arrives late: the computed episode now begins a week later. It is the
    # same absence, already escalated: no second escalation.
    checkin(api, late, at_wib(start + timedelta(days=8), 10))
    moved = evaluate_client(_item(late), "Asia/Jakarta", at_wib(today + timedelta(days=7))).episode_started_at
    assert escalation.escalation_id_for(late, moved) != first.escalation_id
    run_and_drain(at_wib(today + timedelta(days=7)))
    assert [e.escalation_id for e in escalations_of(late)] == [first.escalation_id]
    assert len(sms_to(BHABIN_PHONE)) == 1


# ----- the API -------------------------------------------------------------------------------------------

def test_escalation_and_task_api_scoping_resolve_and_paging(api):
    put_village_contacts(api)
    andi = [unreachable_client(api) for _ in range(2)]
    budi = unreachable_client(api, officer="pk.budi")
    run_and_drain(at_wib(today_wib()))

    listed = api.get("/v1/escalations", "kasubsi.jaksel").json
    assert len(EscalationList.model_validate(listed).items) == 3  # the documented response shape, exactly
    assert sorted(e["client_id"] for e in api.get("/v1/escalations", "pk.andi").json["items"]) == sorted(andi)
    assert_problem(api.get("/v1/escalations?officer=pk.budi", "pk.andi"), 403)
    by_officer = api.get("/v1/escalations?officer=pk.budi", "kasubsi.jaksel").json["items"]
    assert [e["client_id"] for e in by_officer] == [budi]
    assert api.get("/v1/escalations", "kasubsi.makassar").json["items"] == []
    assert_problem(api.get("/v1/escalations", "admin.pusat"), 422, "bapas_id")
    assert len(api.get("/v1/escalations?bapas_id=jaksel", "admin.pusat").json["items"]) == 3
    assert_problem(api.get("/v1/escalations?state=closed", "kasubsi.jaksel"), 422, "state")

    budi_esc = by_officer[0]["id"]
    assert_problem(api.get(f"/v1/escalations/{budi_esc}", "pk.andi"), 403)
    assert_problem(api.get(f"/v1/escalations/{budi_esc}", "kasubsi.makassar"), 404)
    assert_problem(api.get(f"/v1/escalations/{uuid.uuid4()}", "kasubsi.jaksel"), 404)
    assert_problem(api.get("/v1/escalations/not-an-id", "kasubsi.jaksel"), 404)
    assert api.get(f"/v1/escalations/{budi_esc}", "pk.budi").status == 200

    seen, cursor = [], None  # limit 1 walks all three, each once
    for _ in range(10):
        r = api.get("/v1/escalations?limit=1" + (f"&cursor={cursor}" if cursor else ""), "kasubsi.jaksel")
        assert r.status == 200, r
        seen += [e["id"] for e in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3
    first_page = api.get("/v1/escalations?limit=1", "kasubsi.jaksel").json["next_cursor"]
    assert_problem(api.get(f"/v1/escalations?officer=pk.andi&cursor={first_page}", "kasubsi.jaksel"), 422, "cursor")
    assert_problem(api.get("/v1/escalations?cursor=eyJ4IjoxfQ", "kasubsi.jaksel"), 422, "cursor")

    path = f"/v1/escalations/{budi_esc}/resolve"
    assert_problem(api.post(path, "pk.budi", {"resolution": "found_at_home"}), 403)
    assert_problem(api.post(path, "admin.pusat", {"resolution": "found_at_home"}), 403)
    assert_problem(api.post(path, "kasubsi.makassar", {"resolution": "found_at_home"}), 404)
    assert_problem(api.post(path, "kasubsi.jaksel", {"resolution": "  "}), 422, "resolution")
    assert_problem(api.post(path, "kasubsi.jaksel", {"resolution": "Klien ditemukan"}), 422, "resolution")
    r = api.post(path, "kasubsi.jaksel", {"resolution": "found_at_home", "notes": "Di rumah keluarga, via Bhabin."})
    assert r.status == 200, r
    assert (r.json["state"], r.json["resolved_by"], r.json["version"]) == ("resolved", "kasubsi.jaksel", 2)
    assert r.json["resolution"] == "found_at_home"
    assert_problem(api.post(path, "kasubsi.jaksel", {"resolution": "other"}), 409)
    assert _item(budi).open_escalation_id is None
    assert [e["id"] for e in api.get("/v1/escalations?state=resolved", "kasubsi.jaksel").json["items"]] == [budi_esc]
    assert len(api.get("/v1/escalations?state=open", "kasubsi.jaksel").json["items"]) == 2
    audits = list(AuditModel.query(f"escalation#{budi_esc}"))
    # Opening and its reply links (Bhabinkamtibmas, village office) are one transaction at one instant; then resolve.
    assert sorted((a.action, a.actor) for a in audits[:3]) == [("escalation.open", "system"),
                                                               ("reply_link.issue", "system"),
                                                               ("reply_link.issue", "system")]
    assert len({a.at_id.split("#")[0] for a in audits[:3]}) == 1
    assert [(a.action, a.actor) for a in audits[3:]] == [("escalation.resolve", "kasubsi.jaksel")]

    # Tasks: a PK sees their own; the coordinator the Bapas's; resolving closed Budi's.
    tasks = api.get("/v1/tasks", "pk.andi").json
    assert [t.officer for t in TaskList.model_validate(tasks).items] == ["pk.andi", "pk.andi"]
    assert len(api.get("/v1/tasks?state=open", "kasubsi.jaksel").json["items"]) == 2
    assert [t["state"] for t in api.get("/v1/tasks?officer=pk.budi", "kasubsi.jaksel").json["items"]] == ["done"]
    assert_problem(api.get("/v1/tasks?officer=pk.andi", "pk.budi"), 403)
    assert_problem(api.get("/v1/tasks?state=closed", "pk.budi"), 422, "state")
    assert api.get("/v1/tasks", "pk.citra").json["items"] == []

    _check_compliance_in_every_state(api)


def _check_compliance_in_every_state(api) -> None:
    """`compliance` in GET /v1/clients/{id} agrees with the rules module whatever the state."""
    today = today_wib()
    start = today - timedelta(days=30)
    missed = register(api, start)
    checkin(api, missed, at_wib(start + timedelta(days=2), 9))
    checkin(api, missed, at_wib(start + timedelta(days=16), 9), outcome="excused")
    checkin(api, missed, datetime.now(UTC) - timedelta(hours=1), outcome="no_answer")
    due = register(api, today - timedelta(days=2))
    dead = register(api, today - timedelta(days=2))
    checkin(api, dead, datetime.now(UTC) - timedelta(hours=1), outcome="number_inactive")
    expected = {missed: ("missed", 2), due: ("due", 0), dead: ("unreachable", 0)}  # missed: weeks 2 and 4
    for cid, (state, streak) in expected.items():
        got = api.get(f"/v1/clients/{cid}", "pk.andi").json["compliance"]
        assert (got["state"], got["consecutive_missed"]) == (state, streak)
        _assert_compliance_agrees(got, cid)


@pytest.mark.parametrize("body", ['{"client_id": 1}', "[]", '{"client_id": "x", "episode_started_at": "y"}',
                                  '{"client_id": "6f1c2d9e-4b7a-4c3e-9a81-0d2f5e7b4c10", '
                                  '"episode_started_at": "2026-01-01T00:00:00", "as_of": "2026-01-01T00:00:00Z"}'])
def test_malformed_messages_are_rejected(body):
    with pytest.raises((ValueError, TypeError, KeyError)):
        escalation.EscalationMessage.parse(body)
