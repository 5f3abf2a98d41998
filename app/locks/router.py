"""Period locks: an administrator closes a period for every city or for one city, and opens
it again; anyone signed in sees what is locked now. Listed with the snapshot endpoints (the
`snapshots` tag), whose writes are the ones most often refused by a lock."""

from typing import Annotated

from fastapi import APIRouter, Body, Query

from app.auth.dependencies import AdminDep, PrincipalDep
from app.campaigns.service import get_definition
from app.core.deps import SessionDep
from app.core.params import CampaignId, PeriodPath
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.locks.models import PeriodLock
from app.locks.schemas import LockIn, LockOut
from app.locks.service import current_locks, set_lock

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["snapshots"])


@router.put(
    "/{campaign}/periods/{period}/lock",
    summary="Lock a period for every city, or for one city (admin)",
    response_model=LockOut,
    responses=problem_responses(401, 403, 404, 422),
)
def lock_period(
    session: SessionDep,
    admin: AdminDep,
    campaign: CampaignId,
    period: PeriodPath,
    body: Annotated[LockIn, Body()],
) -> LockOut:
    row = set_lock(
        session,
        get_definition(session, campaign),
        period,
        body.city,
        locked=True,
        reason=body.reason,
        actor=admin.client_id,
    )
    return _lock_out(row)


@router.delete(
    "/{campaign}/periods/{period}/lock",
    summary="Unlock a period for every city, or for one city (admin)",
    response_model=LockOut,
    responses=problem_responses(401, 403, 404, 422),
)
def unlock_period(
    session: SessionDep,
    admin: AdminDep,
    campaign: CampaignId,
    period: PeriodPath,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> LockOut:
    row = set_lock(
        session,
        get_definition(session, campaign),
        period,
        city,
        locked=False,
        reason="unlocked",
        actor=admin.client_id,
    )
    return _lock_out(row)


@router.get(
    "/{campaign}/locks",
    summary="Periods locked now",
    response_model=list[LockOut],
    responses=problem_responses(401, 403, 404, 422),
)
def read_locks(session: SessionDep, principal: PrincipalDep, campaign: CampaignId) -> list[LockOut]:
    definition = get_definition(session, campaign)
    return [_lock_out(row) for row in current_locks(session, definition.id)]


def _lock_out(row: PeriodLock) -> LockOut:
    return LockOut(
        campaign=row.campaign_id,
        period=row.period_id,
        city=row.city_code,
        locked=row.locked,
        reason=row.reason,
        set_by=row.set_by,
        set_at=row.set_at,
    )
