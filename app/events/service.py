"""The event registry: validated upserts keyed by the city system's id, one at a time or in
batches of thousands, every change kept as a revision.

A batch is validated item by item (every problem named by its index), then written with a
handful of statements whatever its size: a lookup of the existing events, one executemany
insert of the new ones, and for changed ones an archive of their current version followed by
one executemany update. The current version lives in `recruitment_event`, the superseded
ones in `recruitment_event_revision`; a first registration therefore costs one row.
"""

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Row, and_, bindparam, insert, or_, update
from sqlalchemy import select as core_select
from sqlmodel import Session, SQLModel, col, select

from app.core.changes import mark_changed
from app.core.db import per_dialect
from app.core.errors import FieldError, InvalidInput, Locked, NotFound
from app.events.models import (
    TALLIED_MODES,
    TALLY,
    RecruitmentEvent,
    RecruitmentEventRevision,
)
from app.events.schemas import RESERVED_IDS, EventItem, ItemStatus
from app.records.locking import serialize_writes
from app.records.pagination import decode_cursor, next_cursor
from app.records.planning import planned_for_parameters
from app.records.receipt import Receipt
from app.records.revisions import (
    RevisionOut,
    RevisionRow,
    last_revision_of_page,
    revision_history,
)
from app.records.scope import CityScope
from app.reporting.locks import current_locks

LOCKED = "period_locked"
EVENTS = SQLModel.metadata.tables["recruitment_event"]
REVISIONS = SQLModel.metadata.tables["recruitment_event_revision"]
# The API's field names and the columns that hold them.
FIELD_COLUMNS = {
    "county": "county_code",
    **{
        name: name
        for name in (
            "name", "start_date", "end_date", "mode", "labor_brand", "category", "venue",
            "organizer", "employers", "postings_offered", "attendees", "intents",
        )
    },
}  # fmt: skip


@dataclass(slots=True)
class ItemOutcome:
    index: int
    external_id: str | None
    status: ItemStatus
    revision: int | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ValidItem:
    index: int
    event: EventItem
    period: str
    sha256: str


@dataclass
class BatchOutcome:
    items: list[ItemOutcome]

    def count(self, status: ItemStatus) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def errors(self) -> list[FieldError]:
        return [error for item in self.items for error in item.errors]


def _path(*parts: object) -> str:
    return ".".join(str(part) for part in parts if part != "")


def fingerprint(event: EventItem) -> str:
    """Of the event's content: the model's JSON has a fixed field order."""
    return hashlib.sha256(event.model_dump_json(exclude={"external_id"}).encode()).hexdigest()


def _checks(
    scope: CityScope, event: EventItem, period: str, locked: set[str], at: tuple[str, int]
) -> list[FieldError]:
    """What is wrong with a well-formed event (paths are built only for what is wrong)."""
    errors = []
    if event.county not in scope.counties:
        errors.append(
            FieldError(
                _path(*at, "county"),
                "not_in_city",
                f"{event.county} is not a county of city {scope.city} (县、市、区)",
            )
        )
    start, end = scope.definition.start, scope.definition.end
    for name, day in (("start_date", event.start_date), ("end_date", event.end_date)):
        if not start <= day <= end:
            errors.append(
                FieldError(
                    _path(*at, name),
                    "outside_campaign",
                    f"{day} is outside the campaign ({start}..{end})",
                )
            )
    if event.end_date < event.start_date:
        errors.append(
            FieldError(_path(*at, "end_date"), "before_start", "end_date precedes start_date")
        )
    if event.external_id in RESERVED_IDS:
        errors.append(
            FieldError(_path(*at, "external_id"), "reserved", f"{event.external_id!r} is reserved")
        )
    if period in locked:
        errors.append(
            FieldError(
                _path(*at, "start_date"),
                LOCKED,
                f"{period} is locked for {scope.city}; ask the province to unlock it",
            )
        )
    return errors


def validate_items(
    session: Session, scope: CityScope, raw_items: Sequence[Mapping[str, Any]], prefix: str
) -> tuple[list[ValidItem], dict[int, ItemOutcome]]:
    locked = {
        lock.period_id
        for lock in current_locks(session, scope.campaign_id)
        if lock.city_code in (None, scope.city)
    }
    valid: list[ValidItem] = []
    rejected: dict[int, ItemOutcome] = {}
    first_index: dict[str, int] = {}
    for index, raw in enumerate(raw_items):
        try:
            event = EventItem.model_validate(raw)
        except ValidationError as exc:
            external_id = raw.get("external_id")
            rejected[index] = ItemOutcome(
                index,
                external_id if isinstance(external_id, str) else None,
                "rejected",
                errors=[
                    FieldError(_path(prefix, index, *e["loc"]), e["type"], e["msg"])
                    for e in exc.errors(include_url=False)
                ],
            )
            continue
        found = scope.period_of(event.start_date)
        period = found.id if found else ""
        errors = _checks(scope, event, period, locked, (prefix, index))
        earlier = first_index.setdefault(event.external_id, index)
        if earlier != index:
            errors.append(
                FieldError(
                    _path(prefix, index, "external_id"),
                    "duplicate_in_batch",
                    f"{event.external_id} is also item {earlier} of this batch",
                )
            )
        if errors:
            rejected[index] = ItemOutcome(index, event.external_id, "rejected", errors=errors)
        else:
            valid.append(ValidItem(index, event, period, fingerprint(event)))
    return valid, rejected


def _columns(item: ValidItem, receipt: Receipt, **more: Any) -> dict[str, Any]:
    """The row of an event (one dict: a batch builds thousands)."""
    event = item.event
    return {
        "county_code": event.county,
        "name": event.name,
        "start_date": event.start_date,
        "end_date": event.end_date,
        "period_id": item.period,
        "mode": event.mode.value,
        "labor_brand": event.labor_brand,
        "category": event.category.value,
        "venue": event.venue,
        "organizer": event.organizer,
        "employers": event.employers,
        "postings_offered": event.postings_offered,
        "attendees": event.attendees,
        "intents": event.intents,
        "content_sha256": item.sha256,
        "submitted_by": receipt.actor,
        "received_at": receipt.received_at,
        "backdated": receipt.backdated,
        **more,
    }


def event_data(row: Mapping[Any, Any] | RecruitmentEvent) -> dict[str, Any]:
    """An event's fields as the API shows them (JSON values), from a row or a model."""
    values: Mapping[Any, Any] = row if isinstance(row, Mapping) else row.model_dump()
    data = {name: values[column] for name, column in FIELD_COLUMNS.items()}
    return data | {key: data[key].isoformat() for key in ("start_date", "end_date")}


def _current(
    session: Session, scope: CityScope, external_ids: Sequence[str]
) -> dict[str, Row[Any]]:
    """external_id -> (id, revision, content_sha256, county, period, mode) of the city's
    events among those."""
    query = (
        core_select(
            EVENTS.c.external_id,
            EVENTS.c.id,
            EVENTS.c.revision,
            EVENTS.c.content_sha256,
            EVENTS.c.county_code,
            EVENTS.c.period_id,
            EVENTS.c.mode,
        )
        .where(EVENTS.c.campaign_id == scope.campaign_id, EVENTS.c.city_code == scope.city)
        .where(EVENTS.c.external_id.in_(external_ids))
    )
    with planned_for_parameters(session):
        return {row.external_id: row for row in session.execute(query)}


def _archive(session: Session, event_ids: Sequence[int]) -> None:
    """Copy the current versions of these events into the revision history."""
    with planned_for_parameters(session):
        query = core_select(EVENTS).where(EVENTS.c.id.in_(event_ids))
        rows = session.execute(query).mappings().all()
    session.execute(
        insert(REVISIONS),
        [
            {
                "event_id": row["id"],
                "revision": row["revision"],
                "data": event_data(row),
                "submitted_by": row["submitted_by"],
                "received_at": row["received_at"],
                "backdated": row["backdated"],
            }
            for row in rows
        ],
    )


def write_items(
    session: Session, scope: CityScope, valid: Sequence[ValidItem], receipt: Receipt
) -> list[ItemOutcome]:
    """Upsert valid items: created, updated (a new revision) or unchanged."""
    if not valid:
        return []
    serialize_writes(session, "events", scope.campaign_id, scope.city)
    existing = _current(session, scope, [item.event.external_id for item in valid])
    before_update = {row.id: row for row in existing.values()}
    outcomes, created, updated = [], [], []
    for item in valid:
        external_id = item.event.external_id
        found = existing.get(external_id)
        if found is None:
            created.append(
                _columns(
                    item,
                    receipt,
                    campaign_id=scope.campaign_id,
                    city_code=scope.city,
                    external_id=external_id,
                    revision=1,
                    first_received_at=receipt.received_at,
                )
            )
            outcomes.append(ItemOutcome(item.index, external_id, "created", 1))
        elif found.content_sha256 == item.sha256:
            outcomes.append(ItemOutcome(item.index, external_id, "unchanged", found.revision))
        else:
            revision = found.revision + 1
            updated.append(_columns(item, receipt, event_id=found.id, revision=revision))
            outcomes.append(ItemOutcome(item.index, external_id, "updated", revision))
    if created:
        session.execute(insert(EVENTS), created)
    if updated:
        _archive(session, [row["event_id"] for row in updated])
        session.execute(update(EVENTS).where(EVENTS.c.id == bindparam("event_id")), updated)
    if created or updated:
        mark_changed(session, scope.campaign_id)  # Core writes skip the ORM's flush hook
        tally: Counter[tuple[str, str, str]] = Counter()
        for row in created:
            tally[(row["county_code"], row["period_id"], row["mode"])] += 1
        for row in updated:
            before = before_update[row["event_id"]]
            tally[(before.county_code, before.period_id, before.mode)] -= 1
            tally[(row["county_code"], row["period_id"], row["mode"])] += 1
        add_to_tally(session, scope.campaign_id, scope.city, tally)
    return outcomes


def add_to_tally(
    session: Session, campaign_id: str, city: str, changes: Counter[tuple[str, str, str]]
) -> None:
    """Adds `changes` ((county, period, mode) -> +/- events) to the tally's mode columns."""
    by_week: dict[tuple[str, str], dict[str, int]] = {}
    for (county, period, mode), delta in sorted(changes.items()):
        if delta:
            by_week.setdefault((county, period), dict.fromkeys(TALLIED_MODES, 0))[mode] = delta
    if not by_week:
        return
    rows = [
        {"campaign_id": campaign_id, "county_code": county, "period_id": period, "city_code": city}
        | deltas
        for (county, period), deltas in by_week.items()
    ]
    session.execute(_ADD_TO_TALLY[session.get_bind().dialect.name], rows)


def _add_to_tally_statement(insert: Any) -> Any:
    statement = insert(TALLY)
    return statement.on_conflict_do_update(
        index_elements=["campaign_id", "county_code", "period_id"],
        set_={mode: TALLY.c[mode] + statement.excluded[mode] for mode in TALLIED_MODES},
    )


_ADD_TO_TALLY = per_dialect(_add_to_tally_statement)


def ingest(
    session: Session,
    scope: CityScope,
    raw_items: Sequence[Mapping[str, Any]],
    receipt: Receipt,
    *,
    atomic: bool,
) -> BatchOutcome:
    """Validate every item, then apply the valid ones; with `atomic`, any invalid item
    means none is applied (InvalidInput carrying the per-item summary)."""
    valid, rejected = validate_items(session, scope, raw_items, "items")
    if atomic and rejected:
        ignored = [ItemOutcome(v.index, v.event.external_id, "ignored") for v in valid]
        outcome = BatchOutcome(sorted([*rejected.values(), *ignored], key=_by_index))
        raise BatchRefused(outcome, receipt)
    written = write_items(session, scope, valid, receipt)
    return BatchOutcome(sorted([*rejected.values(), *written], key=_by_index))


def _by_index(item: ItemOutcome) -> int:
    return item.index


class BatchRefused(InvalidInput):
    """An atomic batch with invalid items: 422, with the import summary attached."""

    def __init__(self, outcome: BatchOutcome, receipt: Receipt) -> None:
        rejected = outcome.count("rejected")
        super().__init__(
            f"{rejected} of {len(outcome.items)} items are invalid; with atomic=true nothing "
            "was stored",
            errors=outcome.errors,
            extra={"summary": summary_document(outcome, atomic=True, receipt=receipt)},
        )


def put_event(
    session: Session,
    scope: CityScope,
    external_id: str,
    body: Mapping[str, Any],
    receipt: Receipt,
) -> tuple[ItemStatus, RecruitmentEvent]:
    """The single-event upsert: the same rules as a batch item; 423 for a locked period."""
    claimed = body.get("external_id")
    if claimed is not None and claimed != external_id:
        raise InvalidInput(
            "the body's external_id differs from the address",
            errors=[FieldError("external_id", "mismatch", f"expected {external_id!r}")],
        )
    valid, rejected = validate_items(session, scope, [{**body, "external_id": external_id}], "")
    if rejected:
        errors = [
            FieldError(e.field.removeprefix("0."), e.code, e.message) for e in rejected[0].errors
        ]
        if all(error.code == LOCKED for error in errors):
            raise Locked(errors[0].message)
        raise InvalidInput("the event is invalid; nothing was stored", errors=errors)
    (outcome,) = write_items(session, scope, valid, receipt)
    return outcome.status, get_event(session, scope, external_id)


def get_event(session: Session, scope: CityScope, external_id: str) -> RecruitmentEvent:
    event = session.exec(
        select(RecruitmentEvent)
        .where(
            RecruitmentEvent.campaign_id == scope.campaign_id,
            RecruitmentEvent.city_code == scope.city,
            RecruitmentEvent.external_id == external_id,
        )
        .execution_options(populate_existing=True)
    ).first()
    if event is None:
        raise NotFound(f"city {scope.city} has no event {external_id!r}")
    return event


def event_history(
    session: Session, scope: CityScope, external_id: str, *, after: int, limit: int
) -> list[RevisionOut]:
    """Superseded versions from the history, then the current one."""
    event = get_event(session, scope, external_id)
    last = last_revision_of_page(after, limit)
    archived = session.exec(
        select(RecruitmentEventRevision)
        .where(
            RecruitmentEventRevision.event_id == event.id,
            col(RecruitmentEventRevision.revision) >= after,
            col(RecruitmentEventRevision.revision) <= last,
        )
        .order_by(col(RecruitmentEventRevision.revision))
    ).all()
    rows: list[RevisionRow] = [
        (r.revision, r.data, r.submitted_by, r.received_at, r.backdated) for r in archived
    ]
    if after <= event.revision <= last:
        rows.append(
            (
                event.revision,
                event_data(event),
                event.submitted_by,
                event.received_at,
                event.backdated,
            )
        )
    return revision_history(rows, after=after)


@dataclass(frozen=True)
class EventFilter:
    period: str | None = None
    county: str | None = None
    mode: str | None = None
    category: str | None = None
    labor_brand: bool | None = None
    start_from: date | None = None
    start_to: date | None = None


def list_events(
    session: Session, scope: CityScope, where: EventFilter, *, limit: int, cursor: str | None
) -> tuple[list[RecruitmentEvent], str | None]:
    """A city's events by start date (then registration order)."""
    E = RecruitmentEvent  # noqa: N806
    query = select(E).where(E.campaign_id == scope.campaign_id, E.city_code == scope.city)
    for column, value in (
        (E.period_id, where.period),
        (E.county_code, where.county),
        (E.mode, where.mode),
        (E.category, where.category),
        (E.labor_brand, where.labor_brand),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if where.start_from is not None:
        query = query.where(col(E.start_date) >= where.start_from)
    if where.start_to is not None:
        query = query.where(col(E.start_date) <= where.start_to)
    if cursor is not None:
        day, after = decode_cursor(cursor, (str, int))
        try:
            start = date.fromisoformat(str(day))
        except ValueError:
            start = date.min
        query = query.where(
            or_(
                col(E.start_date) > start,
                and_(col(E.start_date) == start, col(E.id) > after),
            )
        )
    rows = list(session.exec(query.order_by(col(E.start_date), col(E.id)).limit(limit + 1)))
    keys = [(row.start_date.isoformat(), row.id or 0) for row in rows]
    return rows[:limit], next_cursor(keys, limit)


def event_out(event: RecruitmentEvent) -> dict[str, Any]:
    return event_data(event) | {
        "external_id": event.external_id,
        "campaign": event.campaign_id,
        "city": event.city_code,
        "period": event.period_id,
        "revision": event.revision,
        "first_received_at": event.first_received_at,
        "submitted_by": event.submitted_by,
        "received_at": event.received_at,
        "backdated": event.backdated,
    }


def summary_document(outcome: BatchOutcome, *, atomic: bool, receipt: Receipt) -> dict[str, Any]:
    """The import summary as JSON (built directly: thousands of items per batch)."""
    rejected = outcome.count("rejected")
    applied = len(outcome.items) - rejected - outcome.count("ignored")
    status = "OK" if not rejected else ("WARNING" if applied else "ERROR")
    return {
        "status": status,
        "atomic": atomic,
        "received_at": receipt.received_at.isoformat(),
        "stats": {
            "total": len(outcome.items),
            **{name: outcome.count(name) for name in ("created", "updated", "unchanged")},
            "rejected": rejected,
            "ignored": outcome.count("ignored"),
        },
        "items": [
            {
                "index": item.index,
                "external_id": item.external_id,
                "status": item.status,
                "revision": item.revision,
                "errors": [
                    {"field": e.field, "code": e.code, "message": e.message} for e in item.errors
                ],
            }
            for item in outcome.items
        ],
    }
