"""Submitting and reading snapshots of a statistics table, one revision at a time."""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.campaigns.calendar import Period
from app.campaigns.definition import CampaignDefinition, Severity, Table
from app.campaigns.service import campaign_periods, get_period, get_reporting_city, get_table
from app.core.errors import FieldError, InvalidInput, NotFound, PreconditionFailed
from app.reporting.locks import ensure_unlocked
from app.reporting.models import SnapshotHead, SnapshotRevision
from app.reporting.validation import Violation, render_decimal, validate_snapshot

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
class WriteOutcome:
    status: WriteStatus
    revision_number: int
    values: dict[str, Decimal]
    warnings: list[Violation]
    current: SnapshotRevision | None  # the stored current revision; None on a dry run


@dataclass(frozen=True)
class Target:
    """A resolved snapshot address: the table and period exist, the city reports."""

    key: SnapshotKey
    table: Table
    period: Period
    periods: list[Period]


def resolve_target(session: Session, definition: CampaignDefinition, key: SnapshotKey) -> Target:
    table = get_table(definition, key.table_id)
    periods = campaign_periods(session, definition)
    period = get_period(periods, key.period_id)
    get_reporting_city(session, definition, key.city)
    return Target(key=key, table=table, period=period, periods=periods)


def etag_of(revision: SnapshotRevision) -> str:
    return f'"r{revision.revision}-{revision.content_sha256[:16]}"'


def _content_hash(values: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _decimals(values: Mapping[str, str]) -> dict[str, Decimal]:
    return {key: Decimal(text) for key, text in values.items()}


def _revision_at(session: Session, key: SnapshotKey, number: int) -> SnapshotRevision | None:
    return session.exec(
        select(SnapshotRevision).where(
            SnapshotRevision.campaign_id == key.campaign_id,
            SnapshotRevision.city_code == key.city,
            SnapshotRevision.table_id == key.table_id,
            SnapshotRevision.period_id == key.period_id,
            SnapshotRevision.revision == number,
        )
    ).first()


def _lock_head(session: Session, key: SnapshotKey) -> SnapshotHead:
    """Create the head row if needed, then lock it: writers of one snapshot queue here."""
    row = {
        "campaign_id": key.campaign_id,
        "city_code": key.city,
        "table_id": key.table_id,
        "period_id": key.period_id,
        "current_revision": 0,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(SnapshotHead).values(**row).on_conflict_do_nothing())
    head = session.exec(
        select(SnapshotHead)
        .where(
            SnapshotHead.campaign_id == key.campaign_id,
            SnapshotHead.city_code == key.city,
            SnapshotHead.table_id == key.table_id,
            SnapshotHead.period_id == key.period_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return head


def _head(session: Session, key: SnapshotKey) -> SnapshotHead | None:
    return session.get(SnapshotHead, (key.campaign_id, key.city, key.table_id, key.period_id))


def current_revision(session: Session, key: SnapshotKey) -> SnapshotRevision | None:
    head = _head(session, key)
    if head is None or head.current_revision == 0:
        return None
    return _revision_at(session, key, head.current_revision)


def revision_as_of(session: Session, key: SnapshotKey, as_of: datetime) -> SnapshotRevision | None:
    return session.exec(
        select(SnapshotRevision)
        .where(
            SnapshotRevision.campaign_id == key.campaign_id,
            SnapshotRevision.city_code == key.city,
            SnapshotRevision.table_id == key.table_id,
            SnapshotRevision.period_id == key.period_id,
            SnapshotRevision.received_at <= as_of,
        )
        .order_by(col(SnapshotRevision.received_at).desc(), col(SnapshotRevision.revision).desc())
        .limit(1)
    ).first()


def revisions(
    session: Session, key: SnapshotKey, limit: int, offset: int
) -> Sequence[SnapshotRevision]:
    return session.exec(
        select(SnapshotRevision)
        .where(
            SnapshotRevision.campaign_id == key.campaign_id,
            SnapshotRevision.city_code == key.city,
            SnapshotRevision.table_id == key.table_id,
            SnapshotRevision.period_id == key.period_id,
        )
        .order_by(col(SnapshotRevision.revision))
        .offset(offset)
        .limit(limit)
    ).all()


def earlier_values(session: Session, target: Target) -> dict[str, Decimal]:
    """Per indicator, the city's value in its latest earlier period that reported it."""
    earlier = [p.id for p in target.periods if p.index < target.period.index]
    if not earlier:
        return {}
    key = target.key
    rows = session.exec(
        select(SnapshotRevision.period_id, SnapshotRevision.values)
        .join(
            SnapshotHead,
            (col(SnapshotHead.campaign_id) == col(SnapshotRevision.campaign_id))
            & (col(SnapshotHead.city_code) == col(SnapshotRevision.city_code))
            & (col(SnapshotHead.table_id) == col(SnapshotRevision.table_id))
            & (col(SnapshotHead.period_id) == col(SnapshotRevision.period_id))
            & (col(SnapshotHead.current_revision) == col(SnapshotRevision.revision)),
        )
        .where(
            SnapshotRevision.campaign_id == key.campaign_id,
            SnapshotRevision.city_code == key.city,
            SnapshotRevision.table_id == key.table_id,
            col(SnapshotRevision.period_id).in_(earlier),
        )
    ).all()
    latest: dict[str, Decimal] = {}
    for _, values in sorted(rows, key=lambda row: row[0]):
        latest.update(_decimals(values))
    return latest


def check_if_match(if_match: str | None, current: SnapshotRevision | None) -> None:
    if if_match is None:
        return
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in tags and current is not None:
        return
    if current is None or etag_of(current) not in tags:
        now = etag_of(current) if current else "none (nothing submitted yet)"
        raise PreconditionFailed(
            f"If-Match does not match the current revision (current ETag: {now}); "
            "read the snapshot again and reapply your change",
            extra={"current_etag": etag_of(current) if current else None},
        )


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
    head = None if dry_run else _lock_head(session, key)
    current = current_revision(session, key)
    check_if_match(if_match, current)

    rules = [rule for rule in definition.rules if rule.table == target.table.id]
    values, violations = validate_snapshot(
        target.table, rules, submission.raw, earlier_values(session, target)
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

    if current is not None and current.content_sha256 == digest:
        return WriteOutcome("unchanged", current.revision, values, warnings, current)
    number = (current.revision if current else 0) + 1
    status: WriteStatus = "accepted_with_warnings" if warnings else "accepted"
    if head is None:
        return WriteOutcome(status, number, values, warnings, None)

    revision = SnapshotRevision(
        campaign_id=key.campaign_id,
        city_code=key.city,
        table_id=key.table_id,
        period_id=key.period_id,
        revision=number,
        values=stored,
        content_sha256=digest,
        note=submission.note,
        warnings=[violation_document(v) for v in warnings],
        submitted_by=submission.submitted_by,
        source=submission.source,
        received_at=submission.received_at,
        backdated=submission.backdated,
    )
    session.add(revision)
    head.current_revision = number
    head.updated_at = submission.received_at
    if head.first_received_at is None or submission.received_at < head.first_received_at:
        head.first_received_at = submission.received_at
    session.add(head)
    session.flush()
    return WriteOutcome(status, number, values, warnings, revision)


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
