"""Notifications (催报) sent to cities, and running the reminders at an instant (admins)."""

from typing import Annotated

from fastapi import APIRouter, Body, Query

from app.auth.dependencies import AdminDep, PrincipalDep
from app.auth.models import Role
from app.campaigns.service import get_definition
from app.core.deps import SessionDep, SettingsDep
from app.core.errors import FieldError, Forbidden, InvalidInput
from app.core.params import CampaignId, PeriodFilter
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.core.types import utc_now
from app.reminders import service
from app.reminders.schemas import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    RUN_EXAMPLE,
    NotificationOrder,
    NotificationOut,
    NotificationType,
    RunRemindersIn,
)

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["notifications"])


@router.get(
    "/{campaign}/notifications",
    summary="Reminders (催报) sent to cities",
    description="Admins, reviewers and viewers see every city's; a reporter its own city's "
    "only (asking for another city is 403). One notification per city × deliverable × "
    "period × offset of the campaign definition: `deadline.reminder` before the due "
    "instant, `deadline.missed` after it. The contact's e-mail address is never shown. "
    "`order`: `newest` first (default) or by `fire_at`.",
    response_model=list[NotificationOut],
    responses=problem_responses(401, 403, 404, 422),
)
def list_notifications(
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$", examples=["320100"])] = None,
    deliverable: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    period: PeriodFilter = None,
    kind: Annotated[NotificationType | None, Query(alias="type")] = None,
    order: NotificationOrder = "newest",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> list[NotificationOut]:
    if principal.role is Role.reporter:
        if city is not None and city != principal.city:
            raise Forbidden(
                f"client {principal.client_id!r} reports for {principal.city} "
                f"and may not see {city}'s notifications"
            )
        city = principal.city
    definition = get_definition(session, campaign)
    if deliverable is not None and deliverable not in {d.id for d in definition.deliverables}:
        raise InvalidInput(
            f"campaign {definition.id} has no deliverable {deliverable!r}",
            errors=[
                FieldError(
                    "query.deliverable",
                    "unknown_deliverable",
                    ", ".join(d.id for d in definition.deliverables),
                )
            ],
        )
    rows = service.list_notifications(
        session,
        definition.id,
        city=city,
        deliverable=deliverable,
        period=period,
        kind=kind,
        order=order,
        limit=limit,
    )
    return [service.notification_out(row) for row in rows]


@router.post(
    "/{campaign}/reminders/run",
    summary="Send the reminders due at an instant (admins)",
    description="Exactly what the scheduler does at `at` (default: now), and what `python -m "
    "app reminders run --at INSTANT` does: every city whose item is not received at `at` "
    "gets the notification of each offset whose window holds `at` (from its instant until "
    "the item's next offset, 24 hours for the last), unless it already has it. Answers the "
    "notifications created by this call (an empty list: nothing new).",
    response_model=list[NotificationOut],
    responses=problem_responses(401, 403, 404, 422),
)
def run_reminders(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    campaign: CampaignId,
    body: Annotated[RunRemindersIn | None, Body(examples=[RUN_EXAMPLE])] = None,
) -> list[NotificationOut]:
    at = (body.at if body is not None else None) or utc_now()
    rows = service.run_reminders(
        session, at, get_definition(session, campaign).id, settings=settings
    )
    return [service.notification_out(row) for row in rows]
