"""The one-off migration of version 1.1: clients registered before it get tracking_from = registration date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.adapters.tables import AuditModel, ClientModel
from tests.escalation_support import at_wib, checkin, register, today_wib


def test_migrate_tracking_from_is_idempotent_and_audited(api):
    from infra.invoke import invoke

    today = today_wib()
    start = today - timedelta(days=60)
    old = [register(api, start), register(api, start)]
    checkin(api, old[0], at_wib(start + timedelta(days=1), 10))
    registered = today - timedelta(days=20)
    for cid in old:  # as a 1.0 client: registered 20 days ago, no tracking_from, no schedule
        stamp = at_wib(registered, 11).astimezone(UTC).isoformat()
        ClientModel(cid).update(actions=[ClientModel.tracking_from.remove(), ClientModel.schedule.remove(),
                                         ClientModel.created_at.set(stamp)])
    before = api.get(f"/v1/clients/{old[0]}", "pk.andi").json
    assert before["tracking_from"] == start.isoformat()  # 1.0's rule: every window since the start counts
    assert before["compliance"]["state"] == "unreachable"
    new = register(api, start, tracking_from=(start + timedelta(days=3)).isoformat())  # set explicitly: kept

    stats = invoke("migrate_tracking_from", datetime.now(UTC).isoformat())
    assert (stats["migrated"], stats["already"]) == (2, 1), stats
    after = api.get(f"/v1/clients/{old[0]}", "pk.andi").json
    assert after["tracking_from"] == registered.isoformat()
    assert after["compliance"]["consecutive_missed"] < before["compliance"]["consecutive_missed"]
    assert ClientModel.get(new).tracking_from == (start + timedelta(days=3)).isoformat()
    assert [a.action for a in AuditModel.query(f"client#{old[1]}")][-1] == "client.migrate_tracking_from"

    again = invoke("migrate_tracking_from", datetime.now(UTC).isoformat())
    assert (again["migrated"], again["already"]) == (0, 3)
    assert api.get(f"/v1/clients/{old[0]}", "pk.andi").json == after


def test_migrate_name_key_puts_older_clients_into_the_name_search(api):
    from infra.invoke import invoke

    start = today_wib() - timedelta(days=30)
    old, new = register(api, start, name="Sutrisno Lama"), register(api, start, name="Sutrisno Baru")
    ClientModel(old).update(actions=[ClientModel.name_key.remove()])  # as registered before the name search

    def found() -> set[str]:
        body = api.get("/v1/clients?name=sutrisno&limit=50", "kasubsi.jaksel").json
        return {c["id"] for c in body["items"]}

    assert old not in found() and new in found()
    stats = invoke("migrate_name_key", datetime.now(UTC).isoformat())
    assert stats["migrated"] >= 1 and stats["anonymised"] >= 0, stats
    assert {old, new} <= found()
    assert [a.action for a in AuditModel.query(f"client#{old}")][-1] == "client.migrate_name_key"
    assert [a.action for a in AuditModel.query(f"client#{new}")][-1] != "client.migrate_name_key"
    again = invoke("migrate_name_key", datetime.now(UTC).isoformat())
    assert again["migrated"] == 0, again
