"""Stage reviews: the litmas and TPP session that close each supervision stage, and when they are due.

Pure domain logic, like `progress.py`; working days are `workdays.py`'s (`lokal`'s holiday calendar).

A supervision period has three stages (`clients.stage_bounds`: awal, lanjutan, akhir, by thirds). Each stage is
reviewed once: a litmas (penelitian kemasyarakatan: date, summary, recommendation) and the TPP session (sidang
Tim Pengamat Pemasyarakatan: date, decision, notes) that decided on it. The app records both together as one
stage review, after the session.

Due
    A stage's review is due when the stage ends, counted in working days: on the stage's last date, or, when
    that is not a working day (Saturday, Sunday, libur nasional or cuti bersama), on the next working day.
    (A deadline that falls on a day off moves to the next working day, as Indonesian administrative deadlines do.)
Met
    by any review of that stage recorded at or before `as_of` (a late review still meets it from then on).
Overdue
    on local date `today`, a stage whose due date is before `today` and that is not met.
Next due
    the earliest stage not met whose due date is `today` or later; None when there is none.

Working days are `workdays.py`'s: `lokal.holidays` (the SKB 3 Menteri calendar), weekends only for a year whose
decree is not published yet. Only the recorded reviews are stored, never a due date, so due dates follow the
calendar as it is published.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.domain.clients import Stage, stage_bounds
from chalicelib.domain.workdays import on_or_after

REVIEW_STAGES = (Stage.AWAL, Stage.LANJUTAN, Stage.AKHIR)
TPP_DECISIONS = ("continue", "warning", "propose_revocation", "other")


@dataclass(frozen=True)
class DueReview:
    stage: Stage
    first: date
    last: date
    due: date


@dataclass(frozen=True)
class Review:
    """What the rule needs of a recorded review: its stage and when it was recorded (aware)."""

    stage: Stage
    recorded_at: datetime

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None or self.recorded_at.utcoffset() is None:
            raise ValueError("recorded_at must be timezone-aware")


@dataclass(frozen=True)
class Status:
    overdue: int
    overdue_stages: tuple[Stage, ...]
    next_due: date | None
    next_stage: Stage | None
    done: tuple[Stage, ...]

    def to_api(self) -> dict[str, object]:
        """The `stage_reviews` object of a client."""
        return {
            "overdue": self.overdue,
            "overdue_stages": [s.value for s in self.overdue_stages],
            "next_due": None if self.next_due is None else self.next_due.isoformat(),
            "next_stage": None if self.next_stage is None else self.next_stage.value,
            "done": [s.value for s in self.done],
        }


def due_reviews(start: date, end: date) -> list[DueReview]:
    """The review of each stage of the period and its due date."""
    if end < start:
        raise ValueError(f"supervision end {end} is before its start {start}")
    return [DueReview(stage, first, last, on_or_after(last)) for stage, first, last in
            stage_bounds(start, end)]


def evaluate(start: date, end: date, reviews: Iterable[Review], as_of: datetime, today: date) -> Status:
    """Overdue stages and the next due review at `as_of`; `today` is its local date in the Bapas time zone."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware")
    met = {r.stage for r in reviews if r.recorded_at <= as_of}
    overdue: list[Stage] = []
    upcoming: DueReview | None = None
    for review in due_reviews(start, end):
        if review.stage in met:
            continue
        if review.due < today:
            overdue.append(review.stage)
        elif upcoming is None:
            upcoming = review
    return Status(overdue=len(overdue), overdue_stages=tuple(overdue),
                  next_due=upcoming.due if upcoming else None, next_stage=upcoming.stage if upcoming else None,
                  done=tuple(s for s in REVIEW_STAGES if s in met))


def stage_first_day(start: date, end: date, stage: Stage) -> date | None:
    for s, first, _ in stage_bounds(start, end):
        if s is stage:
            return first
    return None


# ----- the fact kept on the client item ------------------------------------------------------------

def fact(recorded_at_utc: str, stage: str, record_key: str) -> str:
    """`"<UTC RFC 3339 recorded_at>|<stage>|<record key>"`, appended to the client item (`stage_reviews`) in the
    review's own transaction, so the due rule and the compliance report need no record read."""
    return f"{recorded_at_utc}|{stage}|{record_key}"


def parse_fact(text: str) -> Review:
    recorded, stage, _ = text.split("|", 2)
    return Review(Stage(stage), datetime.fromisoformat(recorded.replace("Z", "+00:00")))
