"""Highlight cases: create, revise (every change is a revision), list, and the urgent list."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.attachments.schemas import attachment_out
from app.attachments.service import Owner, attachments_of
from app.campaigns.service import get_definition
from app.cases.models import HighlightCase, HighlightCaseRevision
from app.cases.schemas import CaseOut
from app.core.conditional import require_match
from app.core.errors import FieldError, InvalidInput
from app.locks.service import ensure_unlocked
from app.outbox.models import EventType
from app.outbox.service import record_event
from app.records.lookup import city_record
from app.records.pagination import page_by_id
from app.records.receipt import Receipt
from app.records.revisions import (
    RevisionOut,
    last_revision_of_page,
    revision_history,
)
from app.records.scope import CityScope
from app.review.cases import case_reviews

CASE_FIELDS = ("period", "title", "text", "county", "activity", "urgent")
NOT_NULL = frozenset(CASE_FIELDS) - {"county"}


def case_data(case: HighlightCase) -> dict[str, Any]:
    return {
        "period": case.period_id,
        "title": case.title,
        "text": case.text,
        "county": case.county_code,
        "activity": case.activity,
        "urgent": case.urgent,
    }


def etag_of(case: HighlightCase) -> str:
    return f'"case-{case.id}-r{case.revision}"'


def _check(session: Session, scope: CityScope, data: Mapping[str, Any], actor: str) -> None:
    errors = [
        error
        for error in (
            scope.period_error(data["period"], "period"),
            scope.county_error(data["county"], "county"),
            scope.term_error("case_activities", data["activity"], "activity"),
        )
        if error
    ]
    if errors:
        raise InvalidInput("the case does not fit the campaign or the city", errors=errors)
    ensure_unlocked(session, scope.campaign_id, data["period"], scope.city, actor)


def _apply(case: HighlightCase, data: Mapping[str, Any], receipt: Receipt) -> None:
    case.period_id = data["period"]
    case.title = data["title"]
    case.text = data["text"]
    case.county_code = data["county"]
    case.activity = data["activity"]
    case.urgent = data["urgent"]
    case.submitted_by = receipt.actor
    case.received_at = receipt.received_at
    case.backdated = receipt.backdated


def _add_revision(session: Session, case: HighlightCase, receipt: Receipt) -> None:
    assert case.id is not None
    session.add(
        HighlightCaseRevision(
            case_id=case.id,
            revision=case.revision,
            data=case_data(case),
            submitted_by=receipt.actor,
            received_at=receipt.received_at,
            backdated=receipt.backdated,
        )
    )
    session.flush()


def create_case(
    session: Session, scope: CityScope, data: Mapping[str, Any], receipt: Receipt
) -> HighlightCase:
    _check(session, scope, data, receipt.actor)
    case = HighlightCase(
        campaign_id=scope.campaign_id,
        city_code=scope.city,
        revision=1,
        created_by=receipt.actor,
        first_received_at=receipt.received_at,
        period_id="",
        title="",
        text="",
        activity="",
        submitted_by=receipt.actor,
        received_at=receipt.received_at,
    )
    _apply(case, data, receipt)
    session.add(case)
    session.flush()
    _add_revision(session, case, receipt)
    record_event(
        session,
        EventType.urgent_reported if case.urgent else EventType.case_created,
        scope.campaign_id,
        scope.city,
        {"case_id": case.id, "period": case.period_id, "revision": case.revision},
    )
    return case


def update_case(
    session: Session,
    scope: CityScope,
    case_id: int,
    changes: Mapping[str, Any],
    receipt: Receipt,
    *,
    if_match: str | None = None,
) -> tuple[HighlightCase, bool]:
    """Apply the changed fields as a new revision; (case, False) when nothing changed."""
    nulls = [
        FieldError(k, "null_not_allowed", "may not be null")
        for k in changes
        if k in NOT_NULL and changes[k] is None
    ]
    if nulls:
        raise InvalidInput("only county may be removed (set to null)", errors=nulls)
    case = get_case(session, scope.campaign_id, scope.city, case_id, for_update=True)
    require_match(if_match, etag_of(case), "version of the case")
    before = case_data(case)
    after = before | {k: v for k, v in changes.items() if k in CASE_FIELDS}
    if after == before:
        return case, False
    _check(session, scope, after, receipt.actor)
    if after["period"] != before["period"]:
        ensure_unlocked(session, scope.campaign_id, before["period"], scope.city, receipt.actor)
    _apply(case, after, receipt)
    case.revision += 1
    session.add(case)
    _add_revision(session, case, receipt)
    return case, True


def get_case(
    session: Session, campaign_id: str, city: str, case_id: int, *, for_update: bool = False
) -> HighlightCase:
    return city_record(
        session, HighlightCase, case_id, campaign_id, city, noun="case", for_update=for_update
    )


def case_owner(session: Session, campaign_id: str, city: str, case_id: int) -> Owner:
    case = get_case(session, campaign_id, city, case_id)
    assert case.id is not None
    return Owner("case", case.id, campaign_id, city)


def case_history(
    session: Session, case: HighlightCase, *, after: int, limit: int
) -> list[RevisionOut]:
    rows = session.exec(
        select(HighlightCaseRevision)
        .where(
            HighlightCaseRevision.case_id == case.id,
            col(HighlightCaseRevision.revision) >= after,
            col(HighlightCaseRevision.revision) <= last_revision_of_page(after, limit),
        )
        .order_by(col(HighlightCaseRevision.revision))
    ).all()
    return revision_history(
        [(r.revision, r.data, r.submitted_by, r.received_at, r.backdated) for r in rows],
        after=after,
    )


@dataclass(frozen=True)
class CaseFilter:
    period: str | None = None
    county: str | None = None
    activity: str | None = None
    urgent: bool | None = None


def list_cases(
    session: Session, scope: CityScope, where: CaseFilter, *, limit: int, cursor: str | None
) -> tuple[list[HighlightCase], str | None]:
    """A city's cases, oldest first."""
    query = select(HighlightCase).where(
        HighlightCase.campaign_id == scope.campaign_id, HighlightCase.city_code == scope.city
    )
    if where.period is not None:
        query = query.where(HighlightCase.period_id == where.period)
    if where.county is not None:
        query = query.where(HighlightCase.county_code == where.county)
    if where.activity is not None:
        query = query.where(HighlightCase.activity == where.activity)
    if where.urgent is not None:
        query = query.where(HighlightCase.urgent == where.urgent)
    return page_by_id(session, query, HighlightCase.id, _id, limit=limit, cursor=cursor)


def urgent_cases(
    session: Session, campaign_id: str, *, city: str | None, limit: int, cursor: str | None
) -> tuple[list[HighlightCase], str | None]:
    """Every city's urgent cases, newest first: visible as soon as they are flagged."""
    get_definition(session, campaign_id)
    query = select(HighlightCase).where(
        HighlightCase.campaign_id == campaign_id, col(HighlightCase.urgent).is_(True)
    )
    if city is not None:
        query = query.where(HighlightCase.city_code == city)
    return page_by_id(
        session, query, HighlightCase.id, _id, limit=limit, cursor=cursor, newest_first=True
    )


def _id(case: HighlightCase) -> int:
    assert case.id is not None
    return case.id


def cases_out(session: Session, cases: Sequence[HighlightCase]) -> list[CaseOut]:
    files = attachments_of(session, "case", [case.id for case in cases if case.id is not None])
    reviews = case_reviews(session, cases)
    return [
        CaseOut(
            id=case.id or 0,
            campaign=case.campaign_id,
            city=case.city_code,
            period=case.period_id,
            title=case.title,
            text=case.text,
            county=case.county_code,
            activity=case.activity,
            urgent=case.urgent,
            revision=case.revision,
            etag=etag_of(case),
            created_by=case.created_by,
            created_at=case.first_received_at,
            submitted_by=case.submitted_by,
            received_at=case.received_at,
            backdated=case.backdated,
            attachments=[attachment_out(row) for row in files.get(case.id or 0, [])],
            review=reviews[case.id or 0],
        )
        for case in cases
    ]
