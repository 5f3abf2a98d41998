"""Review (审核): decisions on a city's tables and cases, their history, and what a city must
correct."""

from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import CityReaderDep, ReviewerDep
from app.campaigns.service import get_definition
from app.cases.service import get_case
from app.core.deps import SessionDep
from app.core.params import SNAPSHOT_PATH, CampaignId, CaseId, CityCode, PeriodPath, TableId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.records.scope import resolve_scope
from app.reporting.snapshots import SnapshotKey, resolve_target
from app.review import cases, service
from app.review.schemas import (
    CASE_REVIEW_EXAMPLES,
    SNAPSHOT_REVIEW_EXAMPLES,
    CaseDecisionOut,
    CaseReviewIn,
    CaseReviewOut,
    ReturnedOut,
    SnapshotDecisionOut,
    SnapshotReviewIn,
    SnapshotReviewOut,
)

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["review"])

CASE_PATH = "/{campaign}/cities/{city}/cases/{case_id}"


@router.post(
    SNAPSHOT_PATH + "/review",
    summary="Approve, return or reopen a city's table for a period (reviewers, admins)",
    description="`approve` freezes the snapshot: writes get 423 until a reviewer `reopen`s it "
    "(a reason is required). `return` (退回) needs a reason and may carry comments per "
    "indicator key and a `resubmit_by` instant; the city sees them on the snapshot and at "
    "`…/cities/{city}/returned`, and its next accepted revision puts the snapshot back to "
    "`submitted`. `revision` names the revision judged: when it is no longer the current "
    "one the decision is refused with 409, which names the current revision. Every decision "
    "is kept (`…/reviews`).",
    response_model=SnapshotReviewOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def review_snapshot(
    session: SessionDep,
    reviewer: ReviewerDep,
    campaign: CampaignId,
    city: CityCode,
    table: TableId,
    period: PeriodPath,
    body: Annotated[SnapshotReviewIn, Body(examples=SNAPSHOT_REVIEW_EXAMPLES)],
) -> SnapshotReviewOut:
    key = SnapshotKey(campaign, city, table, period)
    decision = service.review_snapshot(
        session, get_definition(session, campaign), key, body, reviewer.client_id
    )
    return service.decided_out(decision)


@router.get(
    SNAPSHOT_PATH + "/reviews",
    summary="Every review decision on a city's table for a period, oldest first",
    response_model=list[SnapshotDecisionOut],
    responses=problem_responses(401, 403, 404, 422),
)
def snapshot_reviews(
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    table: TableId,
    period: PeriodPath,
) -> list[SnapshotDecisionOut]:
    key = SnapshotKey(campaign, access.city, table, period)
    resolve_target(session, get_definition(session, campaign), key)
    return [service.decision_out(row) for row in service.snapshot_decisions(session, key)]


@router.post(
    CASE_PATH + "/review",
    summary="Adopt (采用), recommend (推荐上报) or return (退回) a highlight case",
    description="Reviewers and admins. The decision judges the case's current revision "
    "(`revision`, if sent, must be it: 409 otherwise); `return` needs a reason. When the "
    "city revises the case it awaits a new decision (`submitted`). Every decision is kept "
    "(`…/reviews`).",
    response_model=CaseReviewOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def review_case(
    session: SessionDep,
    reviewer: ReviewerDep,
    campaign: CampaignId,
    city: CityCode,
    case_id: CaseId,
    body: Annotated[CaseReviewIn, Body(examples=CASE_REVIEW_EXAMPLES)],
) -> CaseReviewOut:
    resolve_scope(session, campaign, city)
    decision = cases.review_case(session, campaign, city, case_id, body, reviewer.client_id)
    return cases.decided_out(decision)


@router.get(
    CASE_PATH + "/reviews",
    summary="Every review decision on a highlight case, oldest first",
    response_model=list[CaseDecisionOut],
    responses=problem_responses(401, 403, 404, 422),
)
def case_reviews(
    session: SessionDep, access: CityReaderDep, campaign: CampaignId, case_id: CaseId
) -> list[CaseDecisionOut]:
    return cases.case_decisions(session, get_case(session, campaign, access.city, case_id))


@router.get(
    "/{campaign}/cities/{city}/returned",
    summary="What a city must correct: its tables and cases returned and not resubmitted",
    description="Each with the reviewer's reason, comments per indicator and `resubmit_by`. "
    "An item leaves the list when the city resubmits the table (or revises the case).",
    response_model=ReturnedOut,
    responses=problem_responses(401, 403, 404, 422),
)
def returned_items(session: SessionDep, access: CityReaderDep, campaign: CampaignId) -> ReturnedOut:
    scope = resolve_scope(session, campaign, access.city)
    return ReturnedOut(
        campaign=scope.campaign_id,
        city=scope.city,
        tables=service.returned_tables(session, scope.campaign_id, scope.city),
        cases=cases.returned_cases(session, scope.campaign_id, scope.city),
    )
