"""Reviewing highlight cases: adopt (采用), recommend (推荐上报) or return (退回).

A decision judges the case's current revision; once the city revises the case, it awaits
a new decision (`submitted`). Decisions are kept, never changed.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from app.cases.models import HighlightCase
from app.core.errors import Conflict
from app.outbox.models import EventType
from app.outbox.service import record_event
from app.records.lookup import city_record
from app.review.models import CaseDecision, CaseReview, CaseReviewState
from app.review.schemas import (
    CaseAdoptIn,
    CaseDecisionOut,
    CaseReturnIn,
    CaseReviewOut,
    ReturnedCaseOut,
)

STATE_AFTER = {
    CaseDecision.adopt: CaseReviewState.adopted,
    CaseDecision.recommend: CaseReviewState.recommended,
    CaseDecision.return_: CaseReviewState.returned,
}
# A case recommended to the ministry is adopted as well.
ADOPTED = frozenset({CaseReviewState.adopted, CaseReviewState.recommended})


def review_case(
    session: Session,
    campaign_id: str,
    city: str,
    case_id: int,
    body: CaseAdoptIn | CaseReturnIn,
    actor: str,
) -> CaseReview:
    """Record a decision on the case's current revision; returns it (what a notification of
    it would carry)."""
    case = city_record(
        session, HighlightCase, case_id, campaign_id, city, noun="case", for_update=True
    )
    if body.revision is not None and body.revision != case.revision:
        raise Conflict(
            f"revision {body.revision} of case {case_id} is not current: the current revision "
            f"is {case.revision}; read the case again and judge that one",
            extra={"current_revision": case.revision},
        )
    row = CaseReview(
        campaign_id=campaign_id,
        city_code=city,
        case_id=case_id,
        revision=case.revision,
        decision=CaseDecision(body.decision).value,
        reason=body.reason,
        decided_by=actor,
    )
    session.add(row)
    session.flush()
    if row.decision == CaseDecision.adopt:
        record_event(
            session,
            EventType.case_adopted,
            campaign_id,
            city,
            {"case_id": case_id, "period": case.period_id, "revision": row.revision},
        )
    return row


def state_of(case: HighlightCase, last: CaseReview | None) -> CaseReviewState:
    if last is None or case.revision > last.revision:
        return CaseReviewState.submitted
    return STATE_AFTER[CaseDecision(last.decision)]


def review_out(state: CaseReviewState, last: CaseReview | None) -> CaseReviewOut:
    return CaseReviewOut(
        state=state,
        revision=last.revision if last else None,
        decision=CaseDecision(last.decision) if last else None,
        reason=last.reason if last else None,
        by=last.decided_by if last else None,
        at=last.decided_at if last else None,
    )


def decided_out(decision: CaseReview) -> CaseReviewOut:
    """The review object right after `decision`, which judged the current revision."""
    return review_out(STATE_AFTER[CaseDecision(decision.decision)], decision)


def last_decisions(session: Session, case_ids: Sequence[int]) -> dict[int, CaseReview]:
    """case id -> its latest decision, for the cases that have one (one query)."""
    last: dict[int, CaseReview] = {}
    if not case_ids:
        return last
    for row in session.exec(
        select(CaseReview).where(col(CaseReview.case_id).in_(case_ids)).order_by(col(CaseReview.id))
    ):
        last[row.case_id] = row
    return last


def case_reviews(session: Session, cases: Sequence[HighlightCase]) -> dict[int, CaseReviewOut]:
    """case id -> the review object its GET shows."""
    last = last_decisions(session, [case.id for case in cases if case.id is not None])
    return {
        case.id: review_out(state_of(case, last.get(case.id)), last.get(case.id))
        for case in cases
        if case.id is not None
    }


def case_decisions(session: Session, case: HighlightCase) -> list[CaseDecisionOut]:
    """Every decision on the case, oldest first."""
    rows = session.exec(
        select(CaseReview).where(CaseReview.case_id == case.id).order_by(col(CaseReview.id))
    ).all()
    return [
        CaseDecisionOut(
            revision=row.revision,
            decision=CaseDecision(row.decision),
            reason=row.reason,
            by=row.decided_by,
            at=row.decided_at,
        )
        for row in rows
    ]


def _reviewed_cases(
    session: Session, campaign_id: str, *conditions: ColumnElement[bool] | bool
) -> list[tuple[HighlightCase, CaseReview]]:
    """Each reviewed case of the campaign (narrowed by `conditions` on HighlightCase) with its
    latest decision."""
    rows = session.exec(
        select(HighlightCase, CaseReview)
        .join(CaseReview, col(CaseReview.case_id) == col(HighlightCase.id))
        .where(HighlightCase.campaign_id == campaign_id, *conditions)
        .order_by(col(CaseReview.id))
    ).all()
    latest: dict[int, tuple[HighlightCase, CaseReview]] = {}
    for case, decision in rows:
        latest[decision.case_id] = (case, decision)
    return list(latest.values())


def adopted_case_ids(
    session: Session, campaign: str, period: str, as_of: datetime | None = None
) -> set[int]:
    """The period's cases adopted or recommended in their current revision (by decisions
    made by `as_of`): what the cases export and the briefing take with `cases=adopted`."""
    conditions: list[ColumnElement[bool] | bool] = [HighlightCase.period_id == period]
    if as_of is not None:
        conditions.append(col(CaseReview.decided_at) <= as_of)
    return {
        decision.case_id
        for case, decision in _reviewed_cases(session, campaign, *conditions)
        if state_of(case, decision) in ADOPTED
    }


def returned_cases(session: Session, campaign_id: str, city: str) -> list[ReturnedCaseOut]:
    """The city's cases returned and not revised since, oldest first."""
    found = [
        (case, decision)
        for case, decision in _reviewed_cases(session, campaign_id, HighlightCase.city_code == city)
        if state_of(case, decision) is CaseReviewState.returned
    ]
    return [
        ReturnedCaseOut(
            case_id=decision.case_id,
            period=case.period_id,
            title=case.title,
            review=review_out(CaseReviewState.returned, decision),
        )
        for case, decision in sorted(found, key=lambda pair: pair[1].case_id)
    ]
