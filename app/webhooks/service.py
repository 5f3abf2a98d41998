"""Webhook subscriptions: who may subscribe to what, their delivery logs, redelivery."""

import base64
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from app.auth.models import Role
from app.auth.policy import Principal
from app.campaigns.definition import CampaignDefinition
from app.campaigns.service import get_definition
from app.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from app.core.settings import Settings
from app.outbox.models import OutboxEvent
from app.records.pagination import page_by_id
from app.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionState,
)
from app.webhooks.targets import target_problem

logger = logging.getLogger("app.webhooks")

# Per API client, deleted ones not counted: enough for every event type apart, and a bound
# on what one leaked token can make the worker send.
MAX_SUBSCRIPTIONS_PER_CLIENT = 20
SECRET_BYTES = 24


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _subscription_city(principal: Principal, requested: str | None) -> str | None:
    if principal.role is not Role.reporter:
        return requested
    if principal.city is None or (requested is not None and requested != principal.city):
        raise Forbidden(
            f"client {principal.client_id!r} reports for {principal.city} and may subscribe "
            f"to its own city's events only, not {requested}'s"
        )
    return principal.city


def _campaign(session: Session, campaign_id: str) -> CampaignDefinition:
    try:
        return get_definition(session, campaign_id)
    except NotFound as exc:
        raise InvalidInput(
            f"no campaign {campaign_id!r}",
            errors=[FieldError("campaign", "unknown_campaign", f"no campaign {campaign_id!r}")],
        ) from exc


def check_target(settings: Settings, url: str) -> None:
    problem = target_problem(url, settings.webhook_hosts)
    if problem is not None:
        raise InvalidInput(
            f"webhooks cannot be sent to this URL: {problem}",
            errors=[FieldError("url", "target_not_allowed", problem)],
        )


def create_subscription(
    session: Session, settings: Settings, principal: Principal, body: SubscriptionIn
) -> WebhookSubscription:
    """The new subscription; its `secret` is returned to the caller this once."""
    city = _subscription_city(principal, body.city)
    definition = _campaign(session, body.campaign)
    if city is not None and city not in definition.reporting_units:
        message = f"{city} is not a reporting city of campaign {definition.id}"
        raise InvalidInput(message, errors=[FieldError("city", "unknown_city", message)])
    check_target(settings, body.url)
    owned = session.exec(
        select(func.count())
        .select_from(WebhookSubscription)
        .where(
            WebhookSubscription.created_by == principal.client_id,
            col(WebhookSubscription.deleted_at).is_(None),
        )
    ).one()
    if owned >= MAX_SUBSCRIPTIONS_PER_CLIENT:
        raise Conflict(
            f"client {principal.client_id!r} already has {owned} webhook subscriptions, the "
            "most allowed; delete one first"
        )
    subscription = WebhookSubscription(
        id=f"whk_{secrets.token_hex(12)}",
        campaign_id=definition.id,
        city_code=city,
        url=body.url,
        event_types=list(dict.fromkeys(event.value for event in body.events)),
        secret=new_secret(),
        created_by=principal.client_id,
    )
    session.add(subscription)
    session.flush()
    logger.info(
        "webhook subscription created",
        extra={
            "subscription": subscription.id,
            "campaign": subscription.campaign_id,
            "city": city,
            "client_id": principal.client_id,
        },
    )
    return subscription


def _visible(principal: Principal, subscription: WebhookSubscription) -> bool:
    return principal.role is Role.admin or subscription.created_by == principal.client_id


def get_subscription(
    session: Session, principal: Principal, subscription_id: str, *, for_update: bool = False
) -> WebhookSubscription:
    """404 for another client's subscription too: ids do not reveal what others receive."""
    subscription = session.get(
        WebhookSubscription,
        subscription_id,
        # NO KEY UPDATE: deliveries being inserted for it (their foreign key) do not wait.
        with_for_update={"key_share": True} if for_update else None,
        populate_existing=for_update,
    )
    if subscription is None or not _visible(principal, subscription):
        raise NotFound(f"no webhook subscription {subscription_id!r}")
    return subscription


def list_subscriptions(
    session: Session, principal: Principal, campaign: str | None
) -> Sequence[WebhookSubscription]:
    """Administrators see every subscription, other clients their own; not the deleted."""
    query = select(WebhookSubscription).where(col(WebhookSubscription.deleted_at).is_(None))
    if principal.role is not Role.admin:
        query = query.where(WebhookSubscription.created_by == principal.client_id)
    if campaign is not None:
        query = query.where(WebhookSubscription.campaign_id == campaign)
    return session.exec(query.order_by(col(WebhookSubscription.created_at))).all()


def fail_pending(session: Session, subscription_id: str, reason: str) -> int:
    """Its deliveries still waiting will not be attempted; each keeps why."""
    result = session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.subscription_id) == subscription_id,
            col(WebhookDelivery.status) == DeliveryStatus.pending.value,
        )
        .values(status=DeliveryStatus.failed.value, last_error=reason, lease_until=None)
    )
    count: int = result.rowcount  # type: ignore[attr-defined]
    return count


def delete_subscription(
    session: Session, principal: Principal, subscription_id: str, now: datetime
) -> None:
    """Marks it deleted (its delivery log stays readable); deleting again changes nothing."""
    subscription = get_subscription(session, principal, subscription_id, for_update=True)
    if subscription.deleted_at is not None:
        return
    subscription.deleted_at = now
    session.add(subscription)
    failed = fail_pending(session, subscription.id, "subscription deleted")
    logger.info(
        "webhook subscription deleted",
        extra={
            "subscription": subscription.id,
            "client_id": principal.client_id,
            "pending_failed": failed,
        },
    )


def enable_subscription(
    session: Session, principal: Principal, subscription_id: str
) -> WebhookSubscription:
    """A disabled subscription receives events again (those failed meanwhile stay failed:
    redeliver them one by one)."""
    subscription = get_subscription(session, principal, subscription_id, for_update=True)
    if subscription.deleted_at is not None:
        raise Conflict(f"webhook subscription {subscription_id!r} is deleted")
    if subscription.disabled_at is not None:
        subscription.disabled_at = None
        subscription.disabled_reason = None
        subscription.failing_since = None
        session.add(subscription)
        logger.info(
            "webhook subscription enabled",
            extra={"subscription": subscription.id, "client_id": principal.client_id},
        )
    return subscription


def redeliver(
    session: Session,
    principal: Principal,
    subscription_id: str,
    delivery_id: int,
    now: datetime,
) -> DeliveryOut:
    """The delivery is attempted again as soon as a worker is free, with the same
    `webhook-id` (a receiver that kept it recognises a repeat). Retries after a failure go on
    while the delivery is younger than the retry period; past it, this is one attempt."""
    subscription = get_subscription(session, principal, subscription_id)
    if subscription.deleted_at is not None or subscription.disabled_at is not None:
        state = "deleted" if subscription.deleted_at is not None else "disabled"
        raise Conflict(
            f"webhook subscription {subscription_id!r} is {state}"
            + ("; enable it first" if state == "disabled" else "")
        )
    delivery = session.get(
        WebhookDelivery, delivery_id, with_for_update=True, populate_existing=True
    )
    if delivery is None or delivery.subscription_id != subscription.id:
        raise NotFound(f"no delivery {delivery_id} of webhook subscription {subscription_id!r}")
    delivery.status = DeliveryStatus.pending.value
    delivery.next_attempt_at = now
    delivery.lease_until = None
    delivery.delivered_at = None
    session.add(delivery)
    session.flush()
    logger.info(
        "webhook redelivery requested",
        extra={
            "subscription": subscription.id,
            "delivery": delivery.id,
            "client_id": principal.client_id,
        },
    )
    return deliveries_out(session, [delivery])[0]


def subscription_state(subscription: WebhookSubscription) -> SubscriptionState:
    if subscription.deleted_at is not None:
        return SubscriptionState.deleted
    if subscription.disabled_at is not None:
        return SubscriptionState.disabled
    return SubscriptionState.active


def subscription_out(subscription: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=subscription.id,
        url=subscription.url,
        events=subscription.event_types,
        campaign=subscription.campaign_id,
        city=subscription.city_code,
        state=subscription_state(subscription),
        created_by=subscription.created_by,
        created_at=subscription.created_at,
        failing_since=subscription.failing_since,
        disabled_at=subscription.disabled_at,
        disabled_reason=subscription.disabled_reason,
        deleted_at=subscription.deleted_at,
    )


def created_out(subscription: WebhookSubscription) -> SubscriptionCreatedOut:
    return SubscriptionCreatedOut(
        **subscription_out(subscription).model_dump(), secret=subscription.secret
    )


def deliveries_out(session: Session, deliveries: Sequence[WebhookDelivery]) -> list[DeliveryOut]:
    ids = [delivery.id for delivery in deliveries]
    events = {
        row.id: row
        for row in session.exec(
            select(OutboxEvent).where(
                col(OutboxEvent.id).in_([delivery.event_id for delivery in deliveries])
            )
        )
    }
    attempts: dict[int, list[AttemptOut]] = {}
    for attempt in session.exec(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(ids))
        .order_by(col(WebhookAttempt.id))
    ):
        attempts.setdefault(attempt.delivery_id, []).append(
            AttemptOut(
                at=attempt.attempted_at,
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
                worker=attempt.worker,
            )
        )
    out = []
    for delivery in deliveries:
        assert delivery.id is not None
        event = events[delivery.event_id]
        pending = delivery.status == DeliveryStatus.pending
        out.append(
            DeliveryOut(
                id=delivery.id,
                event_id=delivery.event_id,
                webhook_id=event.message_id,
                type=event.type,
                status=DeliveryStatus(delivery.status),
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at if pending else None,
                last_status_code=delivery.last_status_code,
                last_error=delivery.last_error,
                created_at=delivery.created_at,
                delivered_at=delivery.delivered_at,
                attempt_log=attempts.get(delivery.id, []),
            )
        )
    return out


def delivery_log(
    session: Session,
    subscription: WebhookSubscription,
    *,
    status: DeliveryStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeliveryOut], str | None]:
    """The subscription's deliveries, newest first, each with its attempts."""
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status.value)
    rows, following = page_by_id(
        session,
        query,
        WebhookDelivery.id,
        lambda row: row.id or 0,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    return deliveries_out(session, rows), following
