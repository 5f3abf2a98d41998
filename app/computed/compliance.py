"""Deadline compliance (SPEC 2 and 5): each city × deliverable judged at an instant."""

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Literal, NotRequired, TypedDict

from app.campaigns.calendar import Deadline

Status = Literal["on_time", "late", "missing", "not_due"]
STATUSES: tuple[Status, ...] = ("on_time", "late", "missing", "not_due")
ReceiptKey = tuple[str, str, str | None]  # (city, deliverable, period or None)
ReviewState = Literal["submitted", "approved", "returned"]
LATE_RECEIPT = "first received after the due instant"


@dataclass(frozen=True)
class ReviewFact:
    """A reviewer's decision on a table snapshot, as compliance needs it."""

    decision: Literal["approve", "return", "reopen"]
    revision: int  # the revision judged
    decided_at: datetime
    resubmit_by: datetime | None
    # Returns only: when the revision after the judged one (the resubmission) arrived.
    resubmitted_at: datetime | None = None


class Judgement(TypedDict):
    """One city × deliverable instance. A plain dict: a national answer holds 13,000, and
    dicts are the cheapest to write as JSON."""

    city: str
    city_name: NotRequired[str | None]  # added by app.computed.names for answers
    deliverable: str
    period: str | None
    due: datetime
    received_at: datetime | None
    status: Status
    late_by_seconds: int | None
    # Tables only: how many of the table's indicators the received snapshot holds.
    indicators_reported: int | None
    indicators_expected: int | None
    # Reviewed deliverables (tables) once received: submitted, approved or returned.
    review_state: ReviewState | None
    late_reason: str | None


def judge(due: datetime, received_at: datetime | None, at: datetime) -> tuple[Status, int | None]:
    """Received at or before the due instant is on time; a receipt after `at` is not seen yet."""
    if received_at is not None and received_at <= at:
        if received_at <= due:
            return "on_time", None
        return "late", int((received_at - due).total_seconds())
    return ("missing", None) if at > due else ("not_due", None)


def review_at(
    decisions: Sequence[ReviewFact], at: datetime
) -> tuple[ReviewState, int | None, str | None]:
    """The review state at `at` of a received snapshot, given its decisions in order, and how
    late (seconds, why) the city is against a return's `resubmit_by`: a return not answered
    by a resubmission by then makes the item late. A later decision on the same revision (a
    new return, or an approval after all) replaces the earlier return's request."""
    if not decisions:  # most snapshots: nobody has reviewed them yet
        return "submitted", None, None
    seen = [d for d in decisions if d.decided_at <= at]
    late: tuple[int, str] | None = None
    for index, decision in enumerate(seen):
        following = seen[index + 1] if index + 1 < len(seen) else None
        if (
            decision.decision != "return"
            or decision.resubmit_by is None
            or (following is not None and following.revision == decision.revision)
        ):
            continue
        resubmitted = _seen(decision.resubmitted_at, at)
        answered = resubmitted or at
        if answered > decision.resubmit_by:
            seconds = int((answered - decision.resubmit_by).total_seconds())
            why = (
                f"returned for correction at {decision.decided_at.isoformat()}, not "
                f"resubmitted by {decision.resubmit_by.isoformat()}"
                + (f" (resubmitted at {resubmitted.isoformat()})" if resubmitted else "")
            )
            if late is None or seconds > late[0]:
                late = (seconds, why)
    state: ReviewState = "submitted"
    if seen:
        last = seen[-1]
        if last.decision == "approve":
            state = "approved"
        elif last.decision == "return" and _seen(last.resubmitted_at, at) is None:
            state = "returned"
    return state, *(late or (None, None))


def _seen(instant: datetime | None, at: datetime) -> datetime | None:
    return instant if instant is not None and instant <= at else None


def judge_all(
    deadlines: Sequence[Deadline],
    receipts: Mapping[ReceiptKey, datetime],
    cities: Sequence[str],
    at: datetime,
    completeness: Mapping[ReceiptKey, tuple[int, int]] | None = None,
    reviews: Mapping[ReceiptKey, Sequence[ReviewFact]] | None = None,
    reviewed: Collection[str] = (),
) -> list[Judgement]:
    """`completeness`: (reported, expected) indicators of each received table snapshot;
    `reviews`: the decisions on each, whose deliverables are `reviewed` (the tables).
    Timeliness is judged by the first receipt; a return not answered by its `resubmit_by`
    makes an on-time item late, and `late_reason` says why an item is late."""
    complete = completeness or {}
    decided = reviews or {}
    judgements: list[Judgement] = []
    # Instants in one zone compare without asking each for its offset (13,000 times).
    at = at.astimezone(UTC)
    judged = [
        (d.deliverable, d.period, d.due, d.due.astimezone(UTC), d.deliverable in reviewed)
        for d in deadlines
    ]
    for city in cities:
        for deliverable, period, due, due_in_utc, is_reviewed in judged:
            key = (city, deliverable, period)
            received = receipts.get(key)
            status, late_by = judge(due_in_utc, received, at)
            arrived = status == "on_time" or status == "late"
            counted = complete.get(key) if arrived else None
            reason = LATE_RECEIPT if status == "late" else None
            state: ReviewState | None = None
            if arrived and is_reviewed:
                state, resubmission_late_by, why = review_at(decided.get(key, ()), at)
                if why is not None:
                    reason = why if reason is None else f"{reason}; {why}"
                    if status == "on_time":
                        status, late_by = "late", resubmission_late_by
            judgements.append(
                {
                    "city": city,
                    "deliverable": deliverable,
                    "period": period,
                    "due": due,
                    "received_at": received if arrived else None,
                    "status": status,
                    "late_by_seconds": late_by,
                    "indicators_reported": counted[0] if counted else None,
                    "indicators_expected": counted[1] if counted else None,
                    "review_state": state,
                    "late_reason": reason,
                }
            )
    return judgements


def summarize(
    judgements: Sequence[Judgement], by: Literal["city", "deliverable"]
) -> dict[str, dict[str, int]]:
    """Counts per status for each city (or deliverable), for rankings."""
    groups = list(map(itemgetter(by), judgements))
    counts = Counter(zip(groups, map(itemgetter("status"), judgements), strict=True))
    return {
        group: {status: counts[(group, status)] for status in STATUSES}
        for group in dict.fromkeys(groups)
    }


def nth_receipt(times: Sequence[datetime], count: int) -> datetime | None:
    """When the `count`-th item arrived (e.g. the third case of a week), if it did."""
    ordered = sorted(times)
    return ordered[count - 1] if len(ordered) >= count else None
