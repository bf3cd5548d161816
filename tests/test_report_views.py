"""The compliance report reads bounded views of each client (issue 16: `report_summary`, `progress_summary` through
the `report-index`), which the write paths keep: after each write that changes what they summarise (a progress
report, a PATCH of the period, a program change) the report counts the client as its own record does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.adapters.tables import ClientModel
from chalicelib.domain import progress
from chalicelib.domain.timeutil import to_rfc3339
from tests.escalation_support import at_wib
from tests.records_support import new_id
from tests.test_programs import _asimilasi_client, _pb
from tests.test_reports import report_body


def _agrees(api, cid: str) -> dict:
    client = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    [row] = api.get(f"/v1/reports/compliance?officer={client['officer']}", "kasubsi.jaksel").json["officers"]
    assert row["clients"] == 1, row
    assert row["overdue_progress_reports"] == client["progress_reports"]["overdue"], (row, client["progress_reports"])
    assert row["overdue_stage_reviews"] == client["stage_reviews"]["overdue"], (row, client["stage_reviews"])
    assert row["clients_by_state"][client["compliance"]["state"]] == 1, (row, client["compliance"])
    return client


def test_a_progress_report_writes_the_view_the_report_reads(api):
    cid, start, _today = _asimilasi_client(api, weeks_met=8, days_ago=75)
    before = _agrees(api, cid)
    assert before["progress_reports"]["overdue"] == 2 and ClientModel.get(cid).progress_summary is None
    assert api.put(f"/v1/clients/{cid}/progress-reports/{new_id()}", "pk.andi", report_body(start)).status == 201
    assert ClientModel.get(cid).progress_summary
    assert _agrees(api, cid)["progress_reports"]["overdue"] == 1


def test_a_patch_of_the_period_and_a_program_change_rewrite_the_views(api):
    from infra.invoke import invoke

    cid, start, today = _asimilasi_client(api, weeks_met=8, days_ago=150)
    # Two reports written long ago (more than two months): in the view as met due periods, not as reports.
    first, second = progress.due_periods(start, start + timedelta(days=180))[:2]
    ClientModel(cid).update(actions=[ClientModel.progress_reports.set([
        progress.fact(to_rfc3339(at_wib(p.period_end, 15)), p.period_start, p.period_end, f"progress_report#{i}")
        for i, p in enumerate((first, second))])])
    assert invoke("migrate_report_summary", datetime.now(UTC).isoformat())["migrated"] == 1
    view = ClientModel.get(cid).progress_summary
    assert view and ";" not in view and int(view, 16) == 0b11  # the first two due periods, met long ago
    client = _agrees(api, cid)

    longer = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel",
                       {"supervision_end": (start + timedelta(days=400)).isoformat()},
                       headers={"If-Match": str(client["version"])})
    assert longer.status == 200, longer
    assert ClientModel.get(cid).progress_summary != view  # other due periods: recomputed with the write
    _agrees(api, cid)

    changed = api.post(f"/v1/clients/{cid}/programs", "kasubsi.jaksel", _pb(today))
    assert changed.status == 201, changed
    assert int(ClientModel.get(cid).progress_summary, 16) == 0  # the new period's due periods: none met
    assert _agrees(api, cid)["progress_reports"]["overdue"] == 0
