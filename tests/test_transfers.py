"""Transfers between Bapas: request, list, accept (the client with its whole history, open escalation and task
moves in one transaction), decline; access before and after; crash tests with injected faults."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.adapters.tables import AuditModel, ClientModel, EscalationModel, TaskModel, TransferModel
from tests.escalation_support import at_wib, put_village_contacts, run_and_drain, today_wib, unreachable_client
from tests.records_support import checkin_body, jpeg, new_client, new_id, put_photo, upload_keys
from tests.support import InProcess, assert_problem, reset_caches
from tests.test_faults import assert_retry_later, fault


@pytest.fixture(scope="module")
def api():
    with InProcess() as env:
        put_village_contacts(env)
        yield env
    reset_caches()


def request(api: Any, cid: str, to: str = "makassar", user: str = "kasubsi.jaksel") -> Any:
    return api.post(f"/v1/clients/{cid}/transfer", user, {"to_bapas_id": to, "reason": "Klien pindah domisili."})


def escalated_client(api: Any) -> tuple[str, str, str]:
    """A client of pk.andi with check-ins, a photo and an open escalation with its home-visit task."""
    cid = unreachable_client(api)
    run_and_drain(at_wib(today_wib()))
    client = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    escalation_id = client["open_escalation_id"]
    assert escalation_id and client["compliance"]["state"] == "unreachable"
    task_id = EscalationModel.get(escalation_id).task_id
    return cid, escalation_id, task_id


def where(cid: str, escalation_id: str | None = None, task_id: str | None = None) -> tuple[Any, ...]:
    item = ClientModel.get(cid, consistent_read=True)
    out: list[Any] = [item.bapas_id, item.officer, item.pending_transfer_id]
    if escalation_id:
        e = EscalationModel.get(escalation_id, consistent_read=True)
        out += [e.bapas_id, e.officer]
    if task_id:
        t = TaskModel.get(task_id, consistent_read=True)
        out += [t.bapas_id, t.officer]
    return tuple(out)


def test_a_transfer_moves_the_client_with_its_history_open_work_and_access(api):
    cid, escalation_id, task_id = escalated_client(api)
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    put_photo(up["key"], jpeg())
    photo = api.put(f"/v1/clients/{cid}/checkins/{new_id()}", "pk.andi", checkin_body(outcome="no_answer",
                                                                                     photos=[up["key"]]))
    assert photo.status == 201, photo
    photo_id = photo.json["stored_photos"][0].rsplit("/", 1)[1]
    before = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    checkins = api.get(f"/v1/clients/{cid}/checkins", "kasubsi.jaksel").json["items"]
    assert len(checkins) == 3

    # Only the client's own coordinator may ask; the client stays put until the answer.
    assert_problem(request(api, cid, user="pk.andi"), 403)
    assert_problem(request(api, cid, user="kasubsi.makassar"), 404)
    r = request(api, cid)
    assert r.status == 201, r
    transfer = r.json
    assert transfer["to_bapas_name"] != "makassar" and transfer["from_bapas_name"] != "jaksel"
    assert transfer["state"] == "pending" and transfer["from_bapas_id"] == "jaksel" and transfer["from_officer"] == \
        "pk.andi" and r.headers["location"] == f"/v1/transfers/{transfer['id']}"
    tid = transfer["id"]
    assert_problem(request(api, cid), 409, code="conflict")
    assert api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["pending_transfer_id"] == tid
    assert where(cid, escalation_id, task_id) == ("jaksel", "pk.andi", tid, "jaksel", "pk.andi", "jaksel", "pk.andi")

    incoming = api.get("/v1/transfers?direction=incoming&state=pending", "kasubsi.makassar").json["items"]
    [mine] = [t for t in incoming if t["id"] == tid]
    assert mine["client"]["name"] == "Klien Uji" and mine["client"]["village_name"]  # what the receiver decides on
    outgoing = api.get("/v1/transfers?direction=outgoing", "kasubsi.jaksel").json["items"]
    assert tid in [t["id"] for t in outgoing]
    assert tid not in [t["id"] for t in api.get("/v1/transfers", "kasubsi.jaksel").json["items"]]  # incoming
    assert_problem(api.get(f"/v1/transfers/{tid}", "pk.andi"), 403)

    # Only the receiving coordinator answers, with a PK of their own Bapas.
    assert_problem(api.post(f"/v1/transfers/{tid}/accept", "kasubsi.jaksel", {"officer": "pk.andi"}), 403)
    assert_problem(api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.andi"}), 422,
                   field="officer")
    accepted = api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"})
    assert accepted.status == 200, accepted
    assert accepted.json["state"] == "accepted" and accepted.json["officer"] == "pk.citra"
    assert accepted.json["moved"] == 2  # the open escalation and its task
    assert where(cid, escalation_id, task_id) == ("makassar", "pk.citra", None, "makassar", "pk.citra", "makassar",
                                                  "pk.citra")

    # The sending Bapas and the old PK lose the client and everything under it.
    assert_problem(api.get(f"/v1/clients/{cid}", "kasubsi.jaksel"), 404)
    assert_problem(api.get(f"/v1/clients/{cid}/checkins", "pk.andi"), 404)
    assert_problem(api.put(f"/v1/clients/{cid}/checkins/{new_id()}", "pk.andi", checkin_body()), 404)
    assert_problem(api.get(f"/v1/escalations/{escalation_id}", "kasubsi.jaksel"), 404)
    assert cid not in [c["id"] for c in api.get("/v1/clients?limit=200", "kasubsi.jaksel").json["items"]]
    assert tid in [t["id"] for t in api.get("/v1/transfers?direction=outgoing", "kasubsi.jaksel").json["items"]]
    assert api.get(f"/v1/transfers/{tid}", "kasubsi.jaksel").json["client"] is None  # not theirs any more

    # The receiving Bapas and PK have all of it, and the windows carry on.
    after = api.get(f"/v1/clients/{cid}", "kasubsi.makassar").json
    assert after["bapas_id"] == "makassar" and after["officer"] == "pk.citra" and after["version"] == \
        before["version"] + 1
    assert after["compliance"]["state"] == before["compliance"]["state"] == "unreachable"
    assert after["compliance"]["consecutive_missed"] == before["compliance"]["consecutive_missed"]
    assert after["compliance"]["next_due"] == before["compliance"]["next_due"]
    assert after["open_escalation_id"] == escalation_id
    assert api.get(f"/v1/clients/{cid}/checkins", "pk.citra").json["items"] == checkins
    assert cid in [c["id"] for c in api.get("/v1/clients?limit=200", "kasubsi.makassar").json["items"]]
    assert api.get(f"/v1/escalations/{escalation_id}", "pk.citra").status == 200
    assert task_id in [t["id"] for t in api.get("/v1/tasks?state=open", "pk.citra").json["items"]]
    assert api.get(f"/v1/clients/{cid}/photos/{photo_id}", "kasubsi.makassar").status == 200
    timeline = api.get(f"/v1/clients/{cid}/timeline?limit=200", "kasubsi.makassar").json["items"]
    assert sum(e["kind"] == "checkin" for e in timeline) == 3
    assert api.put(f"/v1/clients/{cid}/checkins/{new_id()}", "pk.citra", checkin_body()).status == 201

    # Both sides are in the audit trail.
    audits = {a.action: a for a in AuditModel.query(f"client#{cid}", consistent_read=True)}
    assert audits["client.transfer_request"].bapas_id == "jaksel"
    assert audits["client.transfer_out"].bapas_id == "jaksel" and audits["client.transfer_in"].bapas_id == "makassar"
    assert {a.action for a in AuditModel.query(f"transfer#{tid}")} == {"transfer.request", "transfer.accept"}

    # The same accept again is a replay; another answer is a conflict.
    again = api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"})
    assert again.status == 200 and again.json == api.get(f"/v1/transfers/{tid}", "kasubsi.makassar").json
    assert_problem(api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.dewi"}), 409)
    assert_problem(api.post(f"/v1/transfers/{tid}/decline", "kasubsi.makassar", {"reason": "Tidak."}), 409)
    # And it can go back: now makassar's coordinator asks, jaksel's answers.
    back = request(api, cid, to="jaksel", user="kasubsi.makassar")
    assert back.status == 201, back


def test_a_declined_transfer_leaves_the_client_where_it_was(api):
    cid = new_client(api)
    tid = request(api, cid).json["id"]
    declined = api.post(f"/v1/transfers/{tid}/decline", "kasubsi.makassar", {"reason": "Alamat di luar wilayah."})
    assert declined.status == 200, declined
    assert declined.json["state"] == "declined" and declined.json["decline_reason"] == "Alamat di luar wilayah."
    assert declined.json["client"] is None  # the receiver did not take it
    assert where(cid) == ("jaksel", "pk.andi", None)
    assert api.get(f"/v1/clients/{cid}", "pk.andi").status == 200
    assert_problem(api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"}), 409)
    assert tid in [t["id"] for t in api.get("/v1/transfers?state=declined", "kasubsi.makassar").json["items"]]
    assert request(api, cid).status == 201  # another try is possible


def test_invalid_transfers_name_the_field_and_write_nothing(api):
    cid = new_client(api)
    assert_problem(request(api, cid, to="jaksel"), 422, field="to_bapas_id")
    assert_problem(request(api, cid, to="bandung"), 422, field="to_bapas_id")
    assert_problem(api.post(f"/v1/clients/{cid}/transfer", "kasubsi.jaksel", {"to_bapas_id": "makassar"}), 422,
                   field="reason")
    assert where(cid) == ("jaksel", "pk.andi", None)
    for params, field in (("direction=sideways", "direction"), ("state=open", "state"), ("cursor=abc", "cursor")):
        assert_problem(api.get(f"/v1/transfers?{params}", "kasubsi.jaksel"), 422, field=field)
    assert_problem(api.get("/v1/transfers", "admin.pusat"), 422, field="bapas_id")
    assert_problem(api.get(f"/v1/transfers/{uuid.uuid4()}", "kasubsi.jaksel"), 404)
    assert_problem(api.get("/v1/transfers/not-an-id", "kasubsi.jaksel"), 404)
    tid = request(api, cid).json["id"]
    assert_problem(api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {}), 422, field="officer")
    assert_problem(api.post(f"/v1/transfers/{tid}/decline", "kasubsi.makassar", {"reason": " "}), 422,
                   field="reason")
    assert_problem(api.post(f"/v1/transfers/{tid}/accept", "admin.pusat", {"officer": "pk.citra"}), 403)


def test_transfer_lists_page_with_a_cursor(api):
    ids = []
    for _ in range(3):
        ids.append(request(api, new_client(api)).json["id"])
    seen: list[str] = []
    cursor = None
    while True:
        r = api.get("/v1/transfers?direction=incoming&limit=2" + (f"&cursor={cursor}" if cursor else ""),
                    "kasubsi.makassar")
        assert r.status == 200, r
        seen += [t["id"] for t in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    states = [t["state"] for t in api.get("/v1/transfers?limit=200", "kasubsi.makassar").json["items"]]
    assert states == sorted(states, key=["pending", "accepted", "declined"].index)  # pending first


# ----- crash tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code,reasons", [
    ("ThrottlingException", None),  # the whole request refused after botocore's retries
    ("TransactionCanceledException", ["None", "TransactionConflict", "None"]),  # a conflicting write
    ("InternalServerError", None),
])
def test_a_failed_accept_changes_nothing_and_the_retry_moves_everything_once(api, code, reasons):
    cid, escalation_id, task_id = escalated_client(api)
    tid = request(api, cid).json["id"]
    before = where(cid, escalation_id, task_id)
    audits = len(list(AuditModel.query(f"client#{cid}", consistent_read=True)))
    with fault("dynamodb", "TransactWriteItems", code, times=10, reasons=reasons) as calls:
        r = api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"})
    assert calls["failed"] >= 1
    assert_retry_later(r)
    # Nothing moved: the client is in exactly one Bapas, the sender's, still waiting.
    assert where(cid, escalation_id, task_id) == before
    assert TransferModel.get(tid, consistent_read=True).state == "pending"
    assert len(list(AuditModel.query(f"client#{cid}", consistent_read=True))) == audits
    assert api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").status == 200
    assert_problem(api.get(f"/v1/clients/{cid}", "kasubsi.makassar"), 404)

    retry = api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"})
    assert retry.status == 200, retry
    assert where(cid, escalation_id, task_id) == ("makassar", "pk.citra", None, "makassar", "pk.citra", "makassar",
                                                  "pk.citra")
    actions = [a.action for a in AuditModel.query(f"client#{cid}", consistent_read=True)]
    assert actions.count("client.transfer_in") == 1 and actions.count("client.transfer_out") == 1


def test_a_failed_request_or_decline_changes_nothing(api):
    cid = new_client(api)
    with fault("dynamodb", "TransactWriteItems", "ThrottlingException", times=10):
        assert_retry_later(request(api, cid))
    assert where(cid) == ("jaksel", "pk.andi", None)
    assert list(TransferModel.outgoing_index.query("jaksel", filter_condition=TransferModel.client_id == cid)) == []
    tid = request(api, cid).json["id"]
    with fault("dynamodb", "TransactWriteItems", "ThrottlingException", times=10):
        assert_retry_later(api.post(f"/v1/transfers/{tid}/decline", "kasubsi.makassar", {"reason": "Penuh."}))
    assert where(cid) == ("jaksel", "pk.andi", tid) and TransferModel.get(tid).state == "pending"
    assert api.post(f"/v1/transfers/{tid}/decline", "kasubsi.makassar", {"reason": "Penuh."}).status == 200
    assert where(cid) == ("jaksel", "pk.andi", None)


def test_history_beyond_one_transaction_moves_after_it_and_a_retry_finishes_a_crashed_move(api, monkeypatch):
    from chalicelib.services import transfers

    cid, escalation_id, task_id = escalated_client(api)
    # Two more (resolved) episodes of history with their (done) tasks: six escalations and tasks to move.
    for _ in range(2):
        episode, task = dict(EscalationModel.get(escalation_id).attribute_values), dict(
            TaskModel.get(task_id).attribute_values)
        episode.update(escalation_id=str(uuid.uuid4()), state="resolved", task_id=str(uuid.uuid4()))
        task.update(task_id=episode["task_id"], escalation_id=episode["escalation_id"], state="done")
        EscalationModel(**episode).save()
        TaskModel(**task).save()
    tid = request(api, cid).json["id"]
    monkeypatch.setattr(transfers, "MAX_TRANSACTION_ITEMS", transfers.FIXED_ITEMS + 2)  # room for the open work
    with fault("dynamodb", "UpdateItem", "InternalServerError", times=10):
        crashed = api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"})
    assert_retry_later(crashed)
    # The client and its open work moved atomically; the rest of the history is still to move.
    assert where(cid, escalation_id, task_id) == ("makassar", "pk.citra", None, "makassar", "pk.citra", "makassar",
                                                  "pk.citra")
    left = [e for e in EscalationModel.client_index.query(cid) if e.bapas_id == "jaksel"]
    assert len(left) == 2 and TransferModel.get(tid, consistent_read=True).history_pending == 4
    assert_problem(api.get(f"/v1/clients/{cid}", "kasubsi.jaksel"), 404)
    retry = api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"})
    assert retry.status == 200, retry
    assert {e.bapas_id for e in EscalationModel.client_index.query(cid)} == {"makassar"}
    assert {TaskModel.get(e.task_id).bapas_id for e in EscalationModel.client_index.query(cid)} == {"makassar"}
    assert retry.json["moved"] == 6
    assert TransferModel.get(tid, consistent_read=True).history_pending == 0


def test_an_escalation_opening_while_the_client_moves_opens_in_the_receiving_bapas(api, monkeypatch):
    from chalicelib.config import settings
    from chalicelib.services import escalation
    from infra.invoke import drain

    cid = unreachable_client(api)
    tid = request(api, cid).json["id"]
    records = escalation._records
    moved = []

    def accept_meanwhile(*args, **kwargs):  # the worker has read the client; the transfer commits now
        if not moved:
            moved.append(api.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"}))
        return records(*args, **kwargs)

    monkeypatch.setattr(escalation, "_records", accept_meanwhile)
    import app as application
    from infra.invoke import _Context, scheduled_event

    application.escalate_unreachable(scheduled_event(at_wib(today_wib()).isoformat()), _Context())
    # The first delivery is refused (the client moved after the worker read it); SQS delivers it again and it
    # is stale (the episode now starts at a WITA midnight).
    drain(settings().escalation_queue_url, application.escalation_worker, retry_failed=True)
    assert moved[0].status == 200, moved
    # Nothing was opened in the sending Bapas; the run (in the receiving Bapas's time zone) opens it there.
    assert list(EscalationModel.client_index.query(cid)) == []
    assert ClientModel.get(cid, consistent_read=True).open_escalation_id is None
    result = run_and_drain(at_wib(today_wib(), 2))
    [opened] = list(EscalationModel.client_index.query(cid))
    assert (opened.bapas_id, opened.officer, opened.state) == ("makassar", "pk.citra", "open"), result
    assert ClientModel.get(cid, consistent_read=True).open_escalation_id == opened.escalation_id
    assert TaskModel.get(opened.task_id).bapas_id == "makassar"


def test_transfer_list_reads_are_audited_with_the_clients_answered(api):
    """A transfer list names clients: each page read is audited like a client list (who, filters, client ids)."""
    from tests.records_support import audits_of

    cid = new_client(api)
    request(api, cid)
    before = len(audits_of("transfer-list#makassar"))
    listed = api.get("/v1/transfers?direction=incoming&state=pending&limit=200", "kasubsi.makassar").json
    [entry] = sorted(audits_of("transfer-list#makassar"), key=lambda a: a.at_id)[before:]
    assert (entry.action, entry.actor, entry.fields) == ("transfer.list", "kasubsi.makassar",
                                                         ["direction", "limit", "state"])
    assert cid in entry.subjects and set(entry.subjects) == {t["client_id"] for t in listed["items"]}


def test_retention_replaces_the_free_text_of_a_clients_transfers(api):
    """A transfer's reason (often a new address) is the client's personal data: anonymised with the client."""
    from datetime import UTC, date, datetime

    from chalicelib.services import retention

    cid = new_client(api, supervision_start="2015-01-05", supervision_end="2015-06-30")
    declined = request(api, cid).json["id"]
    api.post(f"/v1/transfers/{declined}/decline", "kasubsi.makassar", {"reason": "Jl. Melati 4 di luar wilayah."})
    moved = request(api, cid).json["id"]
    assert api.post(f"/v1/transfers/{moved}/accept", "kasubsi.makassar", {"officer": "pk.citra"}).status == 200
    other = request(api, new_client(api)).json["id"]  # another client's transfer stays as it is
    assert date(2015, 6, 30) < date.today()
    assert retention.run(datetime.now(UTC))["clients"] >= 1
    for tid in (declined, moved):
        t = TransferModel.get(tid, consistent_read=True)
        assert t.reason == retention.REDACTED and t.decline_reason in (None, retention.REDACTED)
        assert (t.from_bapas_id, t.to_bapas_id) == ("jaksel", "makassar")
    assert TransferModel.get(declined).decline_reason == retention.REDACTED
    assert TransferModel.get(other).reason == "Klien pindah domisili."
