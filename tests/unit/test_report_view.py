"""The compliance report's bounded view of a client's compacted windows (domain/compaction.py `ReportView`):
what the report computes from it equals what the full history gives, for every report the API accepts after the
view was written, and its size does not depend on how long the client has been supervised."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import compaction, progress
from chalicelib.domain import compliance as rules
from chalicelib.domain.compaction import KEEP_DAYS, ReportView, Summary, compact, compactable, plan_fact, report_view
from chalicelib.domain.workload import Fact, tally
from tests.unit.test_compaction import KINDS, ZONES, contacts, fact_text


@st.composite
def histories(draw):
    start = date(2023, 1, 1) + timedelta(days=draw(st.integers(0, 400)))
    end = start + timedelta(days=draw(st.integers(0, 1200)))
    tracking = start + timedelta(days=draw(st.integers(0, (end - start).days))) if draw(st.booleans()) else None
    schedule = rules.Schedule(start=start, end=end, interval_days=draw(st.sampled_from([1, 3, 7, 7, 14, 30])),
                              tz=draw(st.sampled_from(ZONES)), tracking_from=tracking)
    opens = schedule.opens_at
    span = int((schedule.closes_at - opens).total_seconds()) + 20 * 86400
    texts = []
    for n in range(draw(st.integers(0, 80))):
        at = opens - timedelta(days=10) + timedelta(seconds=draw(st.integers(0, span)))
        kind = draw(st.sampled_from(KINDS))
        visit = kind in (rules.ContactKind.COUNTED, rules.ContactKind.ATTEMPT) and draw(st.booleans())
        texts.append(fact_text(at, kind, visit, n))
    written = opens + timedelta(seconds=draw(st.integers(0, span + 400 * 86400)))
    return schedule, texts, written, draw(st.integers(0, 2**32))


def _report_state(schedule, view: ReportView, rest, as_of):
    facts = view.facts(schedule) + [compaction.parse_fact(t) for t in rest]
    return rules.evaluate(schedule, contacts(facts), as_of, from_window=view.first,
                          streak_before=view.streak).state, facts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_the_report_from_the_view_equals_the_report_from_the_full_history(history):
    schedule, texts, written, seed = history
    rng = random.Random(seed)
    summary, rest = compact(schedule, Summary(), texts, compactable(schedule, written))
    oldest = written.astimezone(schedule._zone).date() - timedelta(days=compaction.VISIT_REACH_DAYS)
    summary = Summary(summary.windows, summary.outcomes, summary.last_counted, summary.inactive,
                      tuple((d, n) for d, n in summary.visits if d >= oldest))  # as plan_fact leaves it
    view = ReportView.decode(report_view(schedule, summary.encode(), written))
    full = [compaction.parse_fact(t) for t in texts]
    zone = ZoneInfo(schedule.tz)
    for _ in range(6):  # reports made after the view was written, with the ranges the API accepts
        made = written + timedelta(seconds=rng.randint(0, 500 * 86400))
        today = made.astimezone(zone).date()
        last = today - timedelta(days=rng.randint(0, KEEP_DAYS))
        first = last - timedelta(days=rng.randint(0, 365))
        as_of = min(made, datetime.combine(last + timedelta(days=1), time(0), zone))
        state, facts = _report_state(schedule, view, rest, as_of)
        assert state == rules.evaluate(schedule, contacts(full), as_of).state
        assert tally(schedule, facts, first, last, as_of) == tally(schedule, full, first, last, as_of)


def _client_history(years: int, today: date) -> tuple[rules.Schedule, str | None, list[str], datetime]:
    """Weekly supervision begun `years` x 52 weeks ago, seen every week (a failed call before every fourth
    check-in, a home visit every quarter), written through the write path's own decision (`plan_fact`) at the
    time of each record: the last 14 months (`VISIT_REACH_DAYS`, what the view keeps) look the same whether the
    supervision began one or three years ago (a visit 53 to 63 weeks ago would be one more visit day to keep:
    history the one-year client does not have)."""
    zone = ZoneInfo("Asia/Jakarta")
    start = today - timedelta(weeks=52 * years)
    schedule = rules.Schedule(start=start, end=start + timedelta(weeks=52 * (years + 2)), interval_days=7,
                              tz="Asia/Jakarta")
    summary, texts, now = None, [], None
    for week in range(52 * years + 1):
        day = start + timedelta(days=week * 7 + 2)
        if day > today:
            break
        at = datetime.combine(day, time(10), zone)
        new, ago = [], 52 * years - week  # records named by how many weeks ago they were made
        if week % 4 == 0:
            new.append(Fact(at - timedelta(hours=2), rules.ContactKind.ATTEMPT, f"checkin#{uuid.UUID(int=2 * ago)}"))
        kind = "visit" if ago % 13 == 12 else "checkin"  # every quarter, none 53 to 63 weeks ago
        new.append(Fact(at, rules.ContactKind.COUNTED, f"{kind}#{uuid.UUID(int=2 * ago + 1)}"))
        for fact in new:
            now = fact.at + timedelta(minutes=5)
            plan = plan_fact(schedule, summary, texts, fact.to_text(), now)
            texts, summary = (plan.contacts, plan.summary) if plan.rewrites else ([*texts, plan.append], summary)
    assert now is not None
    return schedule, summary, texts, now


def test_the_view_is_as_large_for_three_years_of_history_as_for_one():
    today = date(2026, 12, 2)
    one, three = _client_history(1, today), _client_history(3, today)
    views = [report_view(schedule, summary, now) for schedule, summary, _, now in (one, three)]
    assert one[2] == three[2]  # the facts of the last KEEP_DAYS: the same records
    assert len(one[1]) < len(three[1])  # the full summary counts more windows (and writes their number)
    assert views[0] != views[1] and len(views[0]) == len(views[1]), views
    # ... and the view gives the report the full history's numbers.
    for schedule, summary, texts, now in (one, three):
        view = ReportView.decode(report_view(schedule, summary, now))
        full = compaction.all_facts(schedule, summary, texts)
        for days in (0, 10, 40):
            as_of = now + timedelta(days=days)
            state, facts = _report_state(schedule, view, texts, as_of)
            assert state == rules.evaluate(schedule, contacts(full), as_of).state
            last = as_of.astimezone(UTC).date()
            assert tally(schedule, facts, last - timedelta(days=365), last, as_of) == \
                tally(schedule, full, last - timedelta(days=365), last, as_of)


@st.composite
def report_histories(draw):
    start = date(2023, 1, 1) + timedelta(days=draw(st.integers(0, 400)))
    end = start + timedelta(days=draw(st.integers(0, 1500)))
    periods = progress.due_periods(start, end)
    facts = []
    for n in range(draw(st.integers(0, 40))):
        if draw(st.booleans()):  # the app's usual report: one due period, written around its end
            p = periods[draw(st.integers(0, len(periods) - 1))]
            first, last = p.period_start, p.period_end
        else:  # anything the API accepts: a period inside the supervision
            first = start + timedelta(days=draw(st.integers(0, (end - start).days)))
            last = min(end, first + timedelta(days=draw(st.integers(0, 90))))
        submitted = datetime.combine(first, time(3), UTC) + timedelta(hours=draw(st.integers(0, 24 * 500)))
        facts.append(progress.fact(submitted.isoformat().replace("+00:00", "Z"), first, last, f"progress#{n}"))
    written = datetime.combine(start, time(0), UTC) + timedelta(hours=draw(st.integers(0, 24 * 2000)))
    return start, end, facts, written, draw(st.integers(0, 2**32))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report_histories())
def test_the_progress_view_gives_the_report_what_every_report_gives(history):
    start, end, facts, written, seed = history
    rng = random.Random(seed)
    text = progress.view(start, end, facts, written)
    mine = progress.view_reports(start, end, text)
    everything = [progress.parse_fact(f) for f in facts]
    for _ in range(6):  # every as_of a report made after the view can have: at most 62 days before it
        as_of = written - timedelta(days=KEEP_DAYS) + timedelta(seconds=rng.randint(0, 700 * 86400))
        today = as_of.astimezone(ZoneInfo("Asia/Jakarta")).date()
        assert progress.evaluate(start, end, mine, as_of, today) == progress.evaluate(start, end, everything, as_of,
                                                                                     today)


def test_the_progress_view_is_as_large_for_three_years_of_reports_as_for_one():
    """Monthly reports for one or for three years of a five-year supervision: one bit a due period either way."""
    today = date(2026, 12, 2)
    sizes, texts = [], []
    for years in (1, 3):
        start = today - timedelta(weeks=52 * years)
        end = start + timedelta(days=5 * 365)
        facts = [progress.fact(f"{p.period_end + timedelta(days=3)}T03:00:00Z", p.period_start, p.period_end,
                               f"progress#{uuid.UUID(int=i)}")
                 for i, p in enumerate(progress.due_periods(start, end)) if p.period_end + timedelta(days=3) < today]
        text = progress.view(start, end, facts, datetime.combine(today, time(3), UTC))
        sizes.append(len(text))
        texts.append(text)
        assert len(text) < 150, text  # the list itself: about 75 bytes a report
    assert texts[0] != texts[1] and sizes[0] == sizes[1], texts
