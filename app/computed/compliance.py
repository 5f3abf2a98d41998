"""Deadline compliance (SPEC 2 and 5): each city × deliverable judged at an instant."""

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Literal, NotRequired, TypedDict

from app.campaigns.calendar import Deadline

Status = Literal["on_time", "late", "missing", "not_due"]
STATUSES: tuple[Status, ...] = ("on_time", "late", "missing", "not_due")
ReceiptKey = tuple[str, str, str | None]  # (city, deliverable, period or None)


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


def judge(due: datetime, received_at: datetime | None, at: datetime) -> tuple[Status, int | None]:
    """Received at or before the due instant is on time; a receipt after `at` is not seen yet."""
    if received_at is not None and received_at <= at:
        if received_at <= due:
            return "on_time", None
        return "late", int((received_at - due).total_seconds())
    return ("missing", None) if at > due else ("not_due", None)


def judge_all(
    deadlines: Sequence[Deadline],
    receipts: Mapping[ReceiptKey, datetime],
    cities: Sequence[str],
    at: datetime,
    completeness: Mapping[ReceiptKey, tuple[int, int]] | None = None,
) -> list[Judgement]:
    """`completeness`: (reported, expected) indicators of each received table snapshot."""
    complete = completeness or {}
    judgements: list[Judgement] = []
    # Instants in one zone compare without asking each for its offset (13,000 times).
    at = at.astimezone(UTC)
    due_in_utc = [deadline.due.astimezone(UTC) for deadline in deadlines]
    for city in cities:
        for deadline, due in zip(deadlines, due_in_utc, strict=True):
            key = (city, deadline.deliverable, deadline.period)
            received = receipts.get(key)
            status, late_by = judge(due, received, at)
            counted = complete.get(key) if status in ("on_time", "late") else None
            judgements.append(
                {
                    "city": city,
                    "deliverable": deadline.deliverable,
                    "period": deadline.period,
                    "due": deadline.due,
                    "received_at": received if status in ("on_time", "late") else None,
                    "status": status,
                    "late_by_seconds": late_by,
                    "indicators_reported": counted[0] if counted else None,
                    "indicators_expected": counted[1] if counted else None,
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
