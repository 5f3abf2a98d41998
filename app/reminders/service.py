"""Deciding and recording reminders (催报) at an instant.

At each offset of a deliverable (`reminders` in the campaign definition), every reporting
city whose item is not received gets one notification, ever: its key is unique, so a second
run, a second worker or a restart finds it there and sends nothing. The scheduler and
`python -m app reminders run --at INSTANT` call the same `run_reminders`.

An offset is sent only within its window: from its instant until the item's next offset
fires, and for 24 hours after the last offset. A reminder that the scheduler could not send
in time (the service was down) is then dropped: "due at 17:30" read the next morning, or a
"before the deadline" reminder read after the "missed" one, is worse than none.
"""

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select, update

from app.campaigns.calendar import Deadline
from app.campaigns.definition import CampaignDefinition
from app.campaigns.service import campaign_deadlines, get_definition, list_definitions
from app.computed.compliance import ReceiptKey, Status
from app.computed.views import compliance_view, scope_of
from app.contacts.models import CityContact
from app.core.db import per_dialect
from app.core.settings import Settings, get_settings
from app.core.types import utc_now
from app.outbox.models import EventType
from app.outbox.service import record_event
from app.reminders.models import EmailStatus, Notification
from app.reminders.schemas import NotificationOut

LAST_WINDOW = timedelta(hours=24)
# Compliance statuses of an item not received at the instant.
NOT_RECEIVED: frozenset[Status] = frozenset({"missing", "not_due"})

Offsets = Mapping[str, Sequence[tuple[str, timedelta]]]  # deliverable -> (text, duration)


@dataclass(frozen=True)
class Firing:
    """One offset of one deliverable instance, in its window at the instant asked."""

    deliverable: str
    period: str | None
    due: datetime
    offset: str
    fire_at: datetime

    @property
    def type(self) -> EventType:
        if self.fire_at < self.due:
            return EventType.deadline_reminder
        return EventType.deadline_missed


@dataclass(frozen=True)
class Reminder:
    city: str
    firing: Firing

    def key(self, campaign_id: str) -> str:
        f = self.firing
        return f"{campaign_id}/{self.city}/{f.deliverable}/{f.period or '-'}/{f.offset}"


def firings(deadlines: Sequence[Deadline], offsets: Offsets, at: datetime) -> list[Firing]:
    """The offsets whose window holds `at`: at most one per deliverable instance."""
    found = []
    for deadline in deadlines:
        steps = offsets.get(deadline.deliverable, ())
        for index, (text, offset) in enumerate(steps):
            fire_at = deadline.due + offset
            following = steps[index + 1][1] if index + 1 < len(steps) else None
            ends = fire_at + LAST_WINDOW if following is None else deadline.due + following
            if fire_at <= at < ends:
                found.append(
                    Firing(deadline.deliverable, deadline.period, deadline.due, text, fire_at)
                )
    return found


def due_reminders(
    deadlines: Sequence[Deadline],
    offsets: Offsets,
    cities: Sequence[str],
    statuses: Mapping[ReceiptKey, Status],
    at: datetime,
) -> list[Reminder]:
    """Who is reminded of what at `at`: each city whose item is not received (by its
    compliance status at `at`) for each offset in its window. Cities without a status are
    not judged, so not reminded."""
    return [
        Reminder(city, firing)
        for firing in firings(deadlines, offsets, at)
        for city in cities
        if statuses.get((city, firing.deliverable, firing.period)) in NOT_RECEIVED
    ]


def run_reminders(
    session: Session,
    at: datetime,
    campaign_id: str | None = None,
    *,
    settings: Settings | None = None,
) -> list[Notification]:
    """Create the notifications due at `at` that do not exist yet, each with its outbox
    event, in the caller's transaction; returns them (an empty list: nothing new)."""
    if at.tzinfo is None:
        raise ValueError("run_reminders needs an aware instant")
    if settings is None:
        settings = get_settings()
    definitions = (
        [get_definition(session, campaign_id)] if campaign_id else list_definitions(session)
    )
    created: list[Notification] = []
    for definition in definitions:
        created += _run_campaign(session, definition, at.astimezone(UTC), settings)
    return created


def _run_campaign(
    session: Session, definition: CampaignDefinition, at: datetime, settings: Settings
) -> list[Notification]:
    offsets = {d.id: d.reminder_offsets for d in definition.deliverables if d.reminders}
    if not offsets:
        return []
    deadlines = campaign_deadlines(session, definition)
    if not firings(deadlines, offsets, at):
        return []  # the scheduler's usual tick: no compliance to compute
    statuses = _statuses(session, definition, deadlines, at)
    reminders = {
        r.key(definition.id): r
        for r in due_reminders(deadlines, offsets, definition.reporting_units, statuses, at)
    }
    if not reminders:
        return []
    existing = set(
        session.exec(
            select(Notification.dedupe_key).where(col(Notification.dedupe_key).in_(reminders))
        ).all()
    )
    new = {key: r for key, r in reminders.items() if key not in existing}
    if not new:
        return []
    _one_run_at_a_time(session, definition.id)
    mailed = _cities_with_email(session, definition.id) if settings.smtp_host else set()
    ids = [
        notification_id
        for key, reminder in new.items()
        if (notification_id := _insert(session, definition, key, reminder, mailed)) is not None
    ]
    if not ids:
        return []
    rows = session.exec(
        select(Notification).where(col(Notification.id).in_(ids)).order_by(col(Notification.id))
    ).all()
    return list(rows)


def _statuses(
    session: Session, definition: CampaignDefinition, deadlines: Sequence[Deadline], at: datetime
) -> dict[ReceiptKey, Status]:
    """Each item's compliance status at `at`, as the scheduler saw it then.

    Replaying an instant of a campaign that is over (a drill, a demonstration, a test run
    long after the season) against records entered since: a receipt after `at` that arrived
    after the campaign's last due instant was not backdated into the season, so the city
    has delivered and is not reminded. Receipts within the season keep their place in time.
    """
    scope = scope_of(session, definition)
    judged = compliance_view(session, scope, at=at, as_of=at, city=None, period=None)
    statuses = {(j["city"], j["deliverable"], j["period"]): j["status"] for j in judged}
    season_over = max((d.due for d in deadlines), default=at)
    now = utc_now()
    if at < season_over < now:
        for j in compliance_view(session, scope, at=now, as_of=None, city=None, period=None):
            received = j["received_at"]
            if received is not None and received > season_over:
                statuses[(j["city"], j["deliverable"], j["period"])] = "late"
    return statuses


def _insert_statement(insert: Any) -> Any:
    table: Any = Notification.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)


_INSERT = per_dialect(_insert_statement)


def _insert(
    session: Session,
    definition: CampaignDefinition,
    key: str,
    reminder: Reminder,
    mailed: Collection[str],
) -> int | None:
    """The new notification's id, and its event recorded; None when another run (another
    worker, a concurrent transaction) created it first."""
    firing = reminder.firing
    connection = session.connection()
    inserted = connection.execute(
        _INSERT[connection.dialect.name],
        {
            "dedupe_key": key,
            "campaign_id": definition.id,
            "city_code": reminder.city,
            "deliverable": firing.deliverable,
            "period_id": firing.period,
            "offset": firing.offset,
            "type": firing.type.value,
            "due": firing.due,
            "fire_at": firing.fire_at,
            "created_at": utc_now(),
            "event_id": None,
            "email_status": (
                EmailStatus.pending if reminder.city in mailed else EmailStatus.not_sent
            ).value,
            "email_attempts": 0,
        },
    ).first()
    if inserted is None:
        return None
    notification_id: int = inserted[0]
    zone = definition.zone
    event = record_event(
        session,
        firing.type,
        definition.id,
        reminder.city,
        {
            "deliverable": firing.deliverable,
            "period": firing.period,
            "due": firing.due.astimezone(zone).isoformat(),
            "offset": firing.offset,
            "fire_at": firing.fire_at.astimezone(zone).isoformat(),
        },
    )
    session.execute(
        update(Notification)
        .where(col(Notification.id) == notification_id)
        .values(event_id=event.id)
    )
    return notification_id


def _one_run_at_a_time(session: Session, campaign_id: str) -> None:
    """On PostgreSQL, runs for one campaign take turns until their transactions end. Each
    inserts notifications and bumps the campaign's change counter: two runs that did so in
    different orders could deadlock. (A SQLite writer is alone anyway.)"""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"reminders/{campaign_id}".encode()).digest()
    session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], signed=True))))


def _cities_with_email(session: Session, campaign_id: str) -> set[str]:
    rows = session.exec(
        select(CityContact.city_code).where(
            CityContact.campaign_id == campaign_id, CityContact.email != ""
        )
    ).all()
    return set(rows)


def notification_out(row: Notification) -> NotificationOut:
    assert row.id is not None
    return NotificationOut(
        id=row.id,
        campaign=row.campaign_id,
        city=row.city_code,
        deliverable=row.deliverable,
        period=row.period_id,
        type=row.type,
        offset=row.offset,
        due=row.due,
        fire_at=row.fire_at,
        created_at=row.created_at,
        event_id=row.event_id,
        email_status=EmailStatus(row.email_status),
        email_attempts=row.email_attempts,
        email_sent_at=row.email_sent_at,
        email_error=row.email_error,
    )


def notification_document(row: Notification) -> dict[str, Any]:
    """JSON-ready, as the API shows it."""
    return notification_out(row).model_dump(mode="json")


def list_notifications(
    session: Session,
    campaign_id: str,
    *,
    city: str | None,
    deliverable: str | None,
    period: str | None,
    kind: str | None,
    order: str,
    limit: int,
) -> list[Notification]:
    query = select(Notification).where(Notification.campaign_id == campaign_id)
    if city is not None:
        query = query.where(Notification.city_code == city)
    if deliverable is not None:
        query = query.where(Notification.deliverable == deliverable)
    if period is not None:
        query = query.where(Notification.period_id == period)
    if kind is not None:
        query = query.where(Notification.type == kind)
    if order == "fire_at":
        query = query.order_by(col(Notification.fire_at), col(Notification.id))
    else:
        query = query.order_by(col(Notification.id).desc())
    return list(session.exec(query.limit(limit)).all())
