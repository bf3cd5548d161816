"""Compacted facts (chalicelib/domain/compaction.py) against the full history: the same compliance and the same
report tally for every `as_of` at or after the summary's boundary, whatever the order facts arrive in."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import compaction
from chalicelib.domain import compliance as rules
from chalicelib.domain.compaction import Summary, compact, compactable, plan_fact
from chalicelib.domain.workload import Fact, tally

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
KINDS = tuple(rules.ContactKind)


def fact_text(at: datetime, kind: rules.ContactKind, visit: bool, n: int) -> str:
    record_id = uuid.UUID(int=n)  # record keys are "<kind>#<uuid>", as the write path stores them
    return f"{at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}|{kind.value}|{'visit' if visit else 'checkin'}" \
           f"#{record_id}"


def contacts(facts: list[Fact]) -> list[rules.Contact]:
    return [rules.Contact(f.at, f.kind) for f in facts]


@st.composite
def histories(draw):
    start = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 400)))
    end = start + timedelta(days=draw(st.integers(0, 500)))
    schedule = rules.Schedule(start=start, end=end, interval_days=draw(st.integers(1, 31)),
                              tz=draw(st.sampled_from(ZONES)))
    opens = schedule.opens_at
    span = int((schedule.closes_at - opens).total_seconds()) + 20 * 86400
    texts = []
    for n in range(draw(st.integers(0, 60))):
        at = opens - timedelta(days=10) + timedelta(seconds=draw(st.integers(0, span)))
        kind = draw(st.sampled_from(KINDS))
        visit = kind in (rules.ContactKind.COUNTED, rules.ContactKind.ATTEMPT) and draw(st.booleans())
        texts.append(fact_text(at, kind, visit, n))
    windows = draw(st.integers(0, schedule.window_count))
    seed = draw(st.integers(0, 2**32))
    return schedule, texts, windows, seed


def _check(schedule, full_texts, summary, rest, windows, rng):
    full = [compaction.parse_fact(t) for t in full_texts]
    mine = summary.facts(schedule) + [compaction.parse_fact(t) for t in rest]
    boundary = summary.boundary(schedule) or schedule.opens_at - timedelta(days=20)
    assert summary.windows == windows
    assert all(compaction.parse_fact(t).at >= boundary for t in rest)
    for _ in range(4):
        as_of = boundary + timedelta(seconds=rng.randint(0, 600 * 86400))
        assert rules.evaluate(schedule, contacts(mine), as_of) == rules.evaluate(schedule, contacts(full), as_of)
        first = schedule.start + timedelta(days=rng.randint(-20, (schedule.end - schedule.start).days + 20))
        last = first + timedelta(days=rng.randint(0, 400))
        assert tally(schedule, mine, first, last, as_of) == tally(schedule, full, first, last, as_of)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_compacted_evaluation_equals_the_full_history(history):
    schedule, texts, windows, seed = history
    rng = random.Random(seed)
    summary, rest = compact(schedule, Summary(), texts, windows)
    _check(schedule, texts, summary, rest, windows, rng)
    # Stored and read back, it is the same summary.
    assert Summary.decode(summary.encode()) == summary or (summary.encode() is None and summary == Summary())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_late_facts_folded_into_a_compacted_window_give_the_same_result(history):
    """Facts arriving in any order, compaction happening in steps between them, late ones folded directly."""
    schedule, texts, windows, seed = history
    rng = random.Random(seed)
    order = texts[:]
    rng.shuffle(order)
    summary, rest = Summary(), []
    step_windows = [*sorted(rng.randint(0, windows) for _ in range(3)), windows]
    chunks = [order[i::4] for i in range(4)]
    for chunk, w in zip(chunks, step_windows, strict=True):
        for text in chunk:
            fact = compaction.parse_fact(text)
            if summary.covers(schedule, fact.at):
                summary = summary.fold(schedule, fact)  # a late record for a compacted window
            else:
                rest.append(text)
        summary, rest = compact(schedule, summary, rest, w)
    _check(schedule, texts, summary, rest, windows, rng)
    assert Summary.decode(summary.encode()) == summary or summary.encode() is None


def test_the_item_stays_bounded_after_thousands_of_records():
    """5,000 check-ins and visits over three years of weekly supervision, recorded through the write path's
    own decision (`plan_fact`) at the time each was made, many of them synced late: the stored facts stay those
    of the last two months and the summary a few hundred bytes; the full list would be about 400 KB."""
    schedule = rules.Schedule(start=date(2023, 1, 2), end=date(2026, 12, 31), interval_days=7, tz="Asia/Jakarta")
    rng = random.Random(16)
    summary_text, texts, full = None, [], []
    now = schedule.opens_at + timedelta(hours=9)
    sizes = []
    for n in range(5000):
        now += timedelta(minutes=rng.randint(60, 600))
        lag = timedelta(days=rng.choice([0, 0, 0, 1, 3, 30, 90]))  # some offline phones sync very late
        at = max(schedule.opens_at, now - lag - timedelta(minutes=rng.randint(0, 600)))
        kind = rng.choice([rules.ContactKind.COUNTED] * 6 + [rules.ContactKind.ATTEMPT, rules.ContactKind.EXCUSED,
                                                              rules.ContactKind.INACTIVE])
        new = fact_text(at, kind, rng.random() < 0.05, n)
        full.append(new)
        plan = plan_fact(schedule, summary_text, texts, new, now)
        if plan.rewrites:
            texts, summary_text = plan.contacts, plan.summary
        else:
            texts = [*texts, plan.append]
        sizes.append(sum(len(t) + 3 for t in texts) + len(summary_text or ""))
    full_size = sum(len(t) + 3 for t in full)
    assert full_size > 300_000
    assert max(sizes) < 40_000, max(sizes)  # DynamoDB's limit is 400 KB
    summary = Summary.decode(summary_text)
    assert summary.windows == compactable(schedule, now) > 100
    assert len(summary_text) < 1_500  # the outcomes are one run here; the rest is ~250 visit days
    # ... and what the rules see is the full history's.
    mine = summary.facts(schedule) + [compaction.parse_fact(t) for t in texts]
    everything = [compaction.parse_fact(t) for t in full]
    for as_of in (now, now + timedelta(days=3), now + timedelta(days=40)):
        assert rules.evaluate(schedule, contacts(mine), as_of) == rules.evaluate(schedule, contacts(everything), as_of)
        first = (as_of - timedelta(days=KEEP)).date()
        assert tally(schedule, mine, first, as_of.date(), as_of) == tally(schedule, everything, first, as_of.date(),
                                                                          as_of)


KEEP = compaction.KEEP_DAYS


def test_a_summary_refuses_changed_windows():
    old = rules.Schedule(start=date(2024, 1, 1), end=date(2025, 12, 31), interval_days=7, tz="Asia/Jakarta")
    texts = [fact_text(datetime(2024, 1, 3, 3, tzinfo=UTC), rules.ContactKind.COUNTED, False, 1)]
    summary, _ = compact(old, Summary(), texts, 10)
    text = summary.encode()
    assert compaction.same_windows(old, old, text)
    assert compaction.same_windows(old, rules.Schedule(start=old.start, end=date(2026, 6, 30), interval_days=7,
                                                       tz=old.tz), text)  # a later end keeps the windows
    for changed in (rules.Schedule(start=date(2024, 1, 2), end=old.end, interval_days=7, tz=old.tz),
                    rules.Schedule(start=old.start, end=old.end, interval_days=14, tz=old.tz),
                    rules.Schedule(start=old.start, end=date(2024, 2, 1), interval_days=7, tz=old.tz)):
        assert not compaction.same_windows(old, changed, text)
    assert compaction.same_windows(old, rules.Schedule(start=date(2020, 1, 1), end=old.end, interval_days=3,
                                                       tz=old.tz), None)  # nothing compacted: anything goes
