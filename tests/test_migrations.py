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


def test_migrate_report_summary_gives_compacted_clients_their_report_view(api):
    """Issue 16: a client compacted before the `report-index` existed gets its bounded view, audited, once."""
    from chalicelib.domain import compaction, progress
    from chalicelib.domain.timeutil import to_rfc3339
    from chalicelib.services.clients import schedule_of
    from infra.invoke import invoke

    today = today_wib()
    start = today - timedelta(days=150)
    cid, plain = register(api, start), register(api, start)
    old = at_wib(start + timedelta(days=3), 10)
    summary = compaction.Summary(windows=20, outcomes="c" * 20, last_counted=old.astimezone(UTC)).encode()
    ClientModel(cid).update(actions=[ClientModel.contacts_summary.set(summary), ClientModel.report_summary.remove()])
    periods = progress.due_periods(start, start + timedelta(days=180))[:3]
    reports = [progress.fact(to_rfc3339(at_wib(p.period_end, 15)), p.period_start, p.period_end, f"progress#{i}")
               for i, p in enumerate(periods)]  # as written before the index: no progress_summary
    ClientModel(plain).update(actions=[ClientModel.progress_reports.set(reports)])
    before = api.get("/v1/reports/compliance", "kasubsi.jaksel").json["totals"]

    stats = invoke("migrate_report_summary", datetime.now(UTC).isoformat())
    assert (stats["migrated"], stats["already"]) == (2, stats["clients"] - 2), stats
    item = ClientModel.get(cid)
    assert item.report_summary == compaction.report_view(schedule_of(item, "Asia/Jakarta"), summary, datetime.now(UTC))
    assert ClientModel.get(plain).report_summary is None and ClientModel.get(plain).progress_summary
    assert [a.action for a in AuditModel.query(f"client#{cid}")][-1] == "client.migrate_report_summary"
    after = api.get("/v1/reports/compliance", "kasubsi.jaksel").json["totals"]
    assert after["clients_by_state"] != before["clients_by_state"]  # the 20 compacted windows now count as met
    assert after["overdue_progress_reports"] == before["overdue_progress_reports"] - 3  # the three reports count

    again = invoke("migrate_report_summary", datetime.now(UTC).isoformat())
    assert (again["migrated"], again["already"]) == (0, again["clients"])


def test_a_kept_local_table_gets_the_indexes_the_code_gained(api):
    """`infra/bootstrap.py` on a clients table from before the report-index (a local stack's kept state)."""
    from chalicelib.adapters.aws import client
    from infra.bootstrap import add_missing_indexes

    dynamodb, table = client("dynamodb"), ClientModel.Meta.table_name
    dynamodb.update_table(TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "report-index"}}])

    def names() -> set[str]:
        return {i["IndexName"] for i in dynamodb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]}

    assert "report-index" not in names()
    assert add_missing_indexes(ClientModel) == ["report-index"]
    assert "report-index" in names() and add_missing_indexes(ClientModel) == []
    index = next(i for i in dynamodb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
                 if i["IndexName"] == "report-index")
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert api.get("/v1/reports/compliance", "kasubsi.jaksel").status == 200


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
