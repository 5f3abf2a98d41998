"""Writing the event registry: validated upserts keyed by the city system's id, one at a time
or in batches of thousands, every change kept as a revision, and the county-week tally.

A batch is validated item by item (app.events.validation), then written with a handful of
statements whatever its size: a lookup of the existing events, one executemany insert of the
new ones, and for changed ones an archive of their current version followed by one
executemany update. The current version lives in `recruitment_event`, the superseded ones in
`recruitment_event_revision`; a first registration therefore costs one row.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, String, any_, bindparam, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, SQLModel

from app.core.bulk_insert import insert_rows
from app.core.db import per_dialect
from app.core.errors import FieldError, InvalidInput, Locked
from app.events.models import TALLIED_MODES, TALLY, RecruitmentEvent
from app.events.queries import event_data, get_event
from app.events.schemas import ItemStatus
from app.events.validation import (
    LOCKED,
    ItemOutcome,
    ValidItem,
    require_objects,
    validate_items,
)
from app.records.locking import serialize_writes
from app.records.planning import planned_for_parameters
from app.records.receipt import Receipt
from app.records.scope import CityScope

EVENTS = SQLModel.metadata.tables["recruitment_event"]
REVISIONS = SQLModel.metadata.tables["recruitment_event_revision"]


@dataclass
class BatchOutcome:
    items: list[ItemOutcome]

    def count(self, status: ItemStatus) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def errors(self) -> list[FieldError]:
        return [error for item in self.items for error in item.errors]


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
        "category": event.category,
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
        .where(_one_of(session, list(external_ids)))
    )
    with planned_for_parameters(session):
        return {row.external_id: row for row in session.execute(query)}


def _one_of(session: Session, external_ids: list[str]) -> Any:
    """`external_id IN (…)`; on PostgreSQL one array parameter instead of 5,000 (the driver
    parses a query text with that many placeholders anew for each batch)."""
    if session.get_bind().dialect.name == "postgresql":
        return EVENTS.c.external_id == any_(
            bindparam("external_ids", external_ids, type_=postgresql.ARRAY(String))
        )
    return EVENTS.c.external_id.in_(external_ids)


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
    insert_rows(session, EVENTS, created)
    if updated:
        _archive(session, [row["event_id"] for row in updated])
        session.execute(
            _UPDATE_EVENT, [row | {"scope_campaign": scope.campaign_id} for row in updated]
        )
    if created or updated:
        tally: Counter[tuple[str, str, str]] = Counter()
        for row in created:
            tally[(row["county_code"], row["period_id"], row["mode"])] += 1
        for row in updated:
            before = before_update[row["event_id"]]
            tally[(before.county_code, before.period_id, before.mode)] -= 1
            tally[(row["county_code"], row["period_id"], row["mode"])] += 1
        add_to_tally(session, scope.campaign_id, scope.city, tally)
    return outcomes


# Keyed by the campaign as well as the id: the statement says which campaign it changes.
_UPDATE_EVENT = update(EVENTS).where(
    (EVENTS.c.id == bindparam("event_id")) & (EVENTS.c.campaign_id == bindparam("scope_campaign"))
)


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
    raw_items: Sequence[Any],
    receipt: Receipt,
    *,
    atomic: bool,
) -> BatchOutcome:
    """Validate every item, then apply the valid ones; with `atomic`, any invalid item
    means none is applied (InvalidInput carrying the per-item summary)."""
    require_objects(raw_items, "items")
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
