"""Webhook subscriptions and their delivery logs."""

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status

from app.auth.dependencies import PrincipalDep
from app.core.deps import SessionDep, SettingsDep
from app.core.params import RowId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.core.types import utc_now
from app.records.pagination import CursorQuery, Page
from app.webhooks import service
from app.webhooks.models import DeliveryStatus
from app.webhooks.schemas import (
    SUBSCRIPTION_EXAMPLE,
    DeliveryOut,
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionOut,
)

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/webhooks", tags=["webhooks"])

SubscriptionId = Annotated[str, Path(pattern=r"^whk_[0-9a-f]{24}$", examples=["whk_" + "0" * 24])]
SIGNING = (
    'Each delivery is a POST of `{"type", "timestamp", "data"}` signed per Standard '
    "Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`); `webhook-id` is the "
    "same on every attempt of one event, so receivers can drop repeats. A delivery answered "
    "2xx is done; others are retried with exponential backoff for 24 h, and a subscription "
    "whose every attempt has failed for a day is disabled."
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to events of a campaign",
    description="Administrators: any campaign and city. A reporter: its own city (the "
    "default). Viewers and reviewers: campaign-wide (no `city`) or one city. The URL's host "
    "must be on the operator's allow-list (WEBHOOK_ALLOWED_HOSTS). The answer holds the "
    "signing `secret`, shown this once. " + SIGNING,
    response_model=SubscriptionCreatedOut,
    responses=problem_responses(401, 403, 409, 422),
)
def create_subscription(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    body: Annotated[SubscriptionIn, Body(examples=[SUBSCRIPTION_EXAMPLE])],
) -> SubscriptionCreatedOut:
    subscription = service.create_subscription(session, settings, principal, body)
    return service.created_out(subscription)


@router.get(
    "",
    summary="Webhook subscriptions (administrators: all; others: their own)",
    description="Deleted subscriptions are left out.",
    response_model=list[SubscriptionOut],
    responses=problem_responses(401, 422),
)
def list_subscriptions(
    session: SessionDep,
    principal: PrincipalDep,
    campaign: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$")] = None,
) -> list[SubscriptionOut]:
    return [
        service.subscription_out(row)
        for row in service.list_subscriptions(session, principal, campaign)
    ]


@router.get(
    "/{subscription_id}",
    summary="One webhook subscription (its secret is never shown again)",
    response_model=SubscriptionOut,
    responses=problem_responses(401, 404, 422),
)
def get_subscription(
    session: SessionDep, principal: PrincipalDep, subscription_id: SubscriptionId
) -> SubscriptionOut:
    return service.subscription_out(service.get_subscription(session, principal, subscription_id))


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook subscription",
    description="Nothing more is sent to it; deliveries still pending fail with "
    "`subscription deleted`. Its delivery log stays readable.",
    response_class=Response,
    responses=problem_responses(401, 404, 422),
)
def delete_subscription(
    session: SessionDep, principal: PrincipalDep, subscription_id: SubscriptionId
) -> Response:
    service.delete_subscription(session, principal, subscription_id, utc_now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/enable",
    summary="Enable a subscription disabled after repeated failures",
    description="New events are delivered again; deliveries that failed meanwhile can be "
    "sent again one by one (`…/redeliver`).",
    response_model=SubscriptionOut,
    responses=problem_responses(401, 404, 409, 422),
)
def enable_subscription(
    session: SessionDep, principal: PrincipalDep, subscription_id: SubscriptionId
) -> SubscriptionOut:
    return service.subscription_out(
        service.enable_subscription(session, principal, subscription_id)
    )


@router.get(
    "/{subscription_id}/deliveries",
    summary="The delivery log: every event sent to the subscription, with each attempt",
    description="Newest first. Cursor pagination.",
    response_model=Page[DeliveryOut],
    responses=problem_responses(401, 404, 422),
)
def delivery_log(
    session: SessionDep,
    principal: PrincipalDep,
    subscription_id: SubscriptionId,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 100,
    cursor: CursorQuery = None,
) -> Page[DeliveryOut]:
    subscription = service.get_subscription(session, principal, subscription_id)
    items, following = service.delivery_log(
        session, subscription, status=delivery_status, limit=limit, cursor=cursor
    )
    return Page(items=items, next_cursor=following)


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    summary="Send a delivery again, with the same webhook-id",
    description="The delivery becomes pending and is attempted as soon as a worker is free.",
    response_model=DeliveryOut,
    responses=problem_responses(401, 404, 409, 422),
)
def redeliver(
    session: SessionDep,
    principal: PrincipalDep,
    subscription_id: SubscriptionId,
    delivery_id: RowId,
) -> DeliveryOut:
    return service.redeliver(session, principal, subscription_id, delivery_id, utc_now())
