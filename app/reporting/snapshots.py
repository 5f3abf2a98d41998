"""Submitting and reading snapshots of a statistics table, one revision at a time."""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, update
from sqlalchemy import Table as SqlTable
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from app.campaigns.calendar import Period, build_periods
from app.campaigns.definition import CampaignDefinition, Severity, Table
from app.campaigns.service import (
    ensure_reporting_unit,
    get_period,
    get_table,
)
from app.core.changes import LOCK_ONLY
from app.core.conditional import require_match
from app.core.db import per_dialect
from app.core.errors import FieldError, InvalidInput, NotFound
from app.locks.service import ensure_unlocked
from app.outbox.models import EventType
from app.outbox.service import record_event
from app.reporting.approval import ensure_not_approved
from app.reporting.cross_checks import cross_table_warnings, partner_tables
from app.reporting.models import SnapshotHead, SnapshotRevision
from app.reporting.validation import Violation, render_decimal, validate_snapshot
from app.review.models import SnapshotReviewState

WriteStatus = Literal["accepted", "accepted_with_warnings", "unchanged"]


@dataclass(frozen=True)
class SnapshotKey:
    campaign_id: str
    city: str
    table_id: str
    period_id: str


@dataclass(frozen=True)
class Submission:
    raw: Mapping[str, object]
    note: str | None
    source: str
    submitted_by: str
    received_at: datetime
    backdated: bool = False


@dataclass(frozen=True)
class Target:
    """A resolved snapshot address: the table and period exist, the city reports."""

    key: SnapshotKey
    table: Table
    period: Period
    periods: list[Period]


def resolve_target(session: Session, definition: CampaignDefinition, key: SnapshotKey) -> Target:
    table = get_table(definition, key.table_id)
    # Which periods exist does not depend on due-time overrides, so no query is needed.
    periods = build_periods(definition)
    period = get_period(periods, key.period_id)
    ensure_reporting_unit(definition, key.city)
    return Target(key=key, table=table, period=period, periods=periods)


@dataclass(frozen=True)
class HeadState:
    """What a writer needs of a snapshot's head row."""

    current_revision: int
    content_sha256: str | None
    first_received_at: datetime | None
    updated_at: datetime | None
    review_state: str | None


def etag_for(revision: int, content_sha256: str) -> str:
    return f'"r{revision}-{content_sha256[:16]}"'


def etag_of(revision: SnapshotRevision) -> str:
    return etag_for(revision.revision, revision.content_sha256)


def head_etag(head: HeadState | None) -> str | None:
    if head is None or head.current_revision == 0 or head.content_sha256 is None:
        return None
    return etag_for(head.current_revision, head.content_sha256)


def _content_hash(values: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _decimals(values: Mapping[str, str]) -> dict[str, Decimal]:
    return {key: Decimal(text) for key, text in values.items()}


def _where_key(model: type[SnapshotHead] | type[SnapshotRevision], key: SnapshotKey) -> Any:
    return (
        (col(model.campaign_id) == key.campaign_id)
        & (col(model.city_code) == key.city)
        & (col(model.table_id) == key.table_id)
        & (col(model.period_id) == key.period_id)
    )


# The write path uses Core statements built once: the ORM's unit of work and statement
# construction cost more than the SQL itself here.
_HEAD: SqlTable = SnapshotHead.__table__  # type: ignore[attr-defined]
_REVISION: SqlTable = SnapshotRevision.__table__  # type: ignore[attr-defined]
_HEAD_STATE = (
    _HEAD.c.current_revision,
    _HEAD.c.content_sha256,
    _HEAD.c.first_received_at,
    _HEAD.c.updated_at,
    _HEAD.c.review_state,
)
_HEAD_SERIES = (  # one city's table, every period
    (_HEAD.c.campaign_id == bindparam("key_campaign"))
    & (_HEAD.c.city_code == bindparam("key_city"))
    & (_HEAD.c.table_id == bindparam("key_table"))
)
_HEAD_KEY = _HEAD_SERIES & (_HEAD.c.period_id == bindparam("key_period"))
_READ_HEAD = select_columns(*_HEAD_STATE).where(_HEAD_KEY)
_EARLIER_HEADS = select(_HEAD.c.period_id, _HEAD.c.current_values).where(
    _HEAD_SERIES & _HEAD.c.period_id.in_(bindparam("earlier", expanding=True))
)
_PARTNER_HEADS = select(_HEAD.c.table_id, _HEAD.c.current_values).where(
    (_HEAD.c.campaign_id == bindparam("key_campaign"))
    & (_HEAD.c.city_code == bindparam("key_city"))
    & (_HEAD.c.period_id == bindparam("key_period"))
    & _HEAD.c.table_id.in_(bindparam("partners", expanding=True))
)
_UPDATE_HEAD = update(_HEAD).where(_HEAD_KEY)
_INSERT_REVISION = _REVISION.insert()


def _lock_head_statement(insert: Any) -> Any:
    """Create or touch the head row in one statement; the touch locks it (PostgreSQL) until
    commit, so writers of one snapshot queue here. SQLite's BEGIN IMMEDIATE already does."""
    return (
        insert(_HEAD)
        .on_conflict_do_update(
            index_elements=["campaign_id", "city_code", "table_id", "period_id"],
            set_={"current_revision": _HEAD.c.current_revision},
        )
        .returning(*_HEAD_STATE)
        .execution_options(**{LOCK_ONLY: True})
    )


_LOCK_HEAD = per_dialect(_lock_head_statement)


def _key_params(key: SnapshotKey) -> dict[str, str]:
    return {
        "key_campaign": key.campaign_id,
        "key_city": key.city,
        "key_table": key.table_id,
        "key_period": key.period_id,
    }


def _lock_head(connection: Connection, key: SnapshotKey) -> HeadState:
    row = connection.execute(
        _LOCK_HEAD[connection.dialect.name],
        {
            "campaign_id": key.campaign_id,
            "city_code": key.city,
            "table_id": key.table_id,
            "period_id": key.period_id,
            "current_revision": 0,
            "current_values": {},
        },
    ).one()
    return HeadState(*row)


def _read_head(connection: Connection, key: SnapshotKey) -> HeadState | None:
    row = connection.execute(_READ_HEAD, _key_params(key)).first()
    return None if row is None else HeadState(*row)


def _head(session: Session, key: SnapshotKey) -> SnapshotHead | None:
    return session.get(SnapshotHead, (key.campaign_id, key.city, key.table_id, key.period_id))


def current_revision(session: Session, key: SnapshotKey) -> SnapshotRevision | None:
    head = _head(session, key)
    if head is None or head.current_revision == 0:
        return None
    return session.exec(
        select(SnapshotRevision).where(
            _where_key(SnapshotRevision, key),
            SnapshotRevision.revision == head.current_revision,
        )
    ).first()


def revision_as_of(session: Session, key: SnapshotKey, as_of: datetime) -> SnapshotRevision | None:
    return session.exec(
        select(SnapshotRevision)
        .where(_where_key(SnapshotRevision, key), SnapshotRevision.received_at <= as_of)
        .order_by(col(SnapshotRevision.received_at).desc(), col(SnapshotRevision.revision).desc())
        .limit(1)
    ).first()


def revisions(
    session: Session, key: SnapshotKey, limit: int, offset: int
) -> Sequence[SnapshotRevision]:
    return session.exec(
        select(SnapshotRevision)
        .where(_where_key(SnapshotRevision, key))
        .order_by(col(SnapshotRevision.revision))
        .offset(offset)
        .limit(limit)
    ).all()


def earlier_values(session: Session, target: Target) -> dict[str, Decimal]:
    """Per indicator, the city's value in its latest earlier period that reported it."""
    earlier = [p.id for p in target.periods if p.index < target.period.index]
    if not earlier:
        return {}
    rows = session.connection().execute(
        _EARLIER_HEADS, _key_params(target.key) | {"earlier": earlier}
    )
    latest: dict[str, Decimal] = {}
    for _, values in sorted(rows, key=lambda row: row[0]):
        latest.update(_decimals(values))
    return latest


def partner_values(
    session: Session, definition: CampaignDefinition, target: Target
) -> dict[str, dict[str, Decimal]]:
    """The current values of the city's other tables for the period, for the cross rules.

    Read without locking them: two tables written at the same instant may each miss the
    other, and /quality, which re-evaluates the rules on current values, still lists it.
    """
    partners = sorted(partner_tables(definition, target.table.id))
    if not partners:
        return {}
    key = target.key
    rows = session.connection().execute(
        _PARTNER_HEADS,
        {
            "key_campaign": key.campaign_id,
            "key_city": key.city,
            "key_period": key.period_id,
            "partners": partners,
        },
    )
    return {table: _decimals(values) for table, values in rows}


def violation_error(violation: Violation) -> FieldError:
    field = f"values.{violation.keys[0]}" if len(violation.keys) == 1 else "values"
    return FieldError(
        field=field,
        code=violation.rule,
        message=violation.message_en,
        extra={
            "rule": violation.rule,
            "severity": violation.severity.value,
            "keys": list(violation.keys),
            "values": violation.values,
            "message_zh": violation.message_zh,
        },
    )


def violation_document(violation: Violation) -> dict[str, object]:
    return {
        "rule": violation.rule,
        "severity": violation.severity.value,
        "keys": list(violation.keys),
        "values": violation.values,
        "message_zh": violation.message_zh,
        "message_en": violation.message_en,
    }


@dataclass(frozen=True)
class WriteOutcome:
    status: WriteStatus
    revision_number: int
    values: dict[str, Decimal]
    warnings: list[Violation]
    etag: str | None  # of the stored current revision; None on a dry run
    received_at: datetime | None


def submit_snapshot(
    session: Session,
    definition: CampaignDefinition,
    target: Target,
    submission: Submission,
    *,
    strict: bool = False,
    dry_run: bool = False,
    if_match: str | None = None,
) -> WriteOutcome:
    key = target.key
    ensure_unlocked(session, key.campaign_id, key.period_id, key.city, submission.submitted_by)
    connection = session.connection()
    head = _read_head(connection, key) if dry_run else _lock_head(connection, key)
    if head is not None:
        ensure_not_approved(session, key, head.review_state, submission.submitted_by)
    require_match(if_match, head_etag(head), "revision of the snapshot")

    rules = [rule for rule in definition.rules if rule.table == target.table.id]
    values, violations = validate_snapshot(
        target.table, rules, submission.raw, earlier_values(session, target)
    )
    violations += cross_table_warnings(
        definition,
        target.table.id,
        partner_values(session, definition, target) | {target.table.id: values},
    )
    refused = [v for v in violations if strict or v.severity is Severity.error]
    if refused:
        raise InvalidInput(
            f"{len(refused)} rule violation(s); nothing was stored"
            + (" (strict mode refuses warnings)" if strict else ""),
            errors=[violation_error(v) for v in refused],
        )
    warnings = [v for v in violations if v.severity is Severity.warning]
    stored = {k: render_decimal(v) for k, v in sorted(values.items())}
    digest = _content_hash(stored)
    current = head.current_revision if head else 0

    if head is not None and current and head.content_sha256 == digest:
        return WriteOutcome(
            "unchanged", current, values, warnings, head_etag(head), head.updated_at
        )
    status: WriteStatus = "accepted_with_warnings" if warnings else "accepted"
    if dry_run or head is None:
        return WriteOutcome(status, current + 1, values, warnings, None, None)

    etag = _store_revision(connection, key, head, submission, stored, digest, warnings)
    record_event(
        session,
        EventType.snapshot_accepted,
        key.campaign_id,
        key.city,
        {
            "table": key.table_id,
            "period": key.period_id,
            "revision": current + 1,
            "status": status,
            "received_at": submission.received_at.isoformat(),
        },
    )
    return WriteOutcome(status, current + 1, values, warnings, etag, submission.received_at)


def _store_revision(
    connection: Connection,
    key: SnapshotKey,
    head: HeadState,
    submission: Submission,
    stored: dict[str, str],
    digest: str,
    warnings: list[Violation],
) -> str:
    """Insert the next revision and make it the head's current one; returns its ETag."""
    revision = head.current_revision + 1
    received_at = submission.received_at
    connection.execute(
        _INSERT_REVISION,
        {
            "campaign_id": key.campaign_id,
            "city_code": key.city,
            "table_id": key.table_id,
            "period_id": key.period_id,
            "revision": revision,
            "values": stored,
            "content_sha256": digest,
            "note": submission.note,
            "warnings": [violation_document(v) for v in warnings],
            "submitted_by": submission.submitted_by,
            "source": submission.source,
            "received_at": received_at,
            "backdated": submission.backdated,
        },
    )
    first = head.first_received_at
    connection.execute(
        _UPDATE_HEAD,
        _key_params(key)
        | {
            "current_revision": revision,
            "current_values": stored,
            "indicator_count": len(stored),
            "content_sha256": digest,
            "updated_at": received_at,
            "first_received_at": received_at if first is None else min(first, received_at),
            # a new revision awaits review, whatever was decided on the one before
            "review_state": SnapshotReviewState.submitted.value,
        },
    )
    return etag_for(revision, digest)


def require_revision(revision: SnapshotRevision | None, key: SnapshotKey) -> SnapshotRevision:
    if revision is None:
        raise NotFound(f"{key.city} has not submitted {key.table_id} for {key.period_id}")
    return revision


Change = tuple[str, str | None, str | None]


def history(
    session: Session, key: SnapshotKey, *, limit: int, offset: int
) -> list[tuple[SnapshotRevision, list[Change]]]:
    """Revisions in order, each with its changes against the revision before it."""
    # One extra row before the page gives the first revision on it something to compare with.
    start = max(offset - 1, 0)
    rows = list(revisions(session, key, limit + (offset - start), start))
    previous = rows.pop(0).values if offset and rows else None
    page = []
    for row in rows:
        page.append((row, value_changes(previous, row.values)))
        previous = row.values
    return page


def value_changes(before: Mapping[str, str] | None, after: Mapping[str, str]) -> list[Change]:
    before = before or {}
    keys = sorted(set(before) | set(after))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]
