"""The worker's part of webhooks: fan each outbox event out to the subscriptions that want it,
then deliver, sign, retry and, when a receiver fails for too long, disable.

Every step is a short transaction, and no HTTP request is made inside one. A delivery is
taken by setting its lease (one atomic UPDATE, `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
two workers never take the same one); its result is recorded afterwards. A worker killed
mid-delivery leaves a lease that runs out: the delivery is taken again and sent with the
same `webhook-id`. Delivery is therefore at least once; receivers deduplicate by that id.
"""

import json
import logging
import math
import secrets
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, update
from sqlmodel import Session, col, or_, select
from standardwebhooks.webhooks import Webhook

from app.core.db import per_dialect, session_scope
from app.core.leases import claim_due
from app.core.settings import Settings
from app.core.types import utc_now
from app.outbox.models import OutboxEvent
from app.outbox.service import envelope
from app.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.webhooks.service import fail_pending
from app.webhooks.targets import target_problem

logger = logging.getLogger("app.webhooks")

FAN_OUT_BATCH = 200
# Deliveries taken at once; all of them are sent in parallel, so each is answered (or timed
# out) within the timeout of being taken, well inside the default lease.
CLAIM_BATCH = 16
# One call does at most this many batches, so that a flood of events does not starve the
# other work of the loop.
MAX_ROUNDS = 10
MAX_ERROR_CHARS = 500
USER_AGENT = "spring-breeze-webhooks/1"

_random = secrets.SystemRandom()


def _insert_deliveries_statement(insert: Any) -> Any:
    table: Any = WebhookDelivery.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])


_INSERT_DELIVERIES = per_dialect(_insert_deliveries_statement)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _wants(subscription: WebhookSubscription, event: OutboxEvent) -> bool:
    """Same campaign (the caller's query); the subscription's city or a campaign-wide one,
    or a campaign-wide event; a wanted type; and no event from before it existed."""
    return (
        (subscription.city_code is None or event.city_code in (None, subscription.city_code))
        and event.type in subscription.event_types
        and event.occurred_at >= subscription.created_at
    )


def _fan_out_batch(session: Session, now: datetime, batch: int) -> int:
    query = (
        select(OutboxEvent)
        .where(col(OutboxEvent.fanned_out_at).is_(None))
        .order_by(col(OutboxEvent.id))
        .limit(batch)
    )
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    events = session.exec(query).all()
    if not events:
        return 0
    subscriptions = session.exec(
        select(WebhookSubscription).where(
            col(WebhookSubscription.campaign_id).in_({event.campaign_id for event in events}),
            col(WebhookSubscription.deleted_at).is_(None),
            col(WebhookSubscription.disabled_at).is_(None),
        )
    ).all()
    rows = [
        {
            "subscription_id": subscription.id,
            "event_id": event.id,
            "status": DeliveryStatus.pending.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        for subscription in subscriptions
        if subscription.campaign_id == event.campaign_id and _wants(subscription, event)
    ]
    if rows:
        session.execute(_INSERT_DELIVERIES[session.get_bind().dialect.name], rows)
    session.execute(
        update(OutboxEvent)
        .where(col(OutboxEvent.id).in_([event.id for event in events]))
        .values(fanned_out_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(events)


def fan_out(engine: Engine, settings: Settings, now: datetime, batch: int = FAN_OUT_BATCH) -> int:
    """One pending delivery per event × active subscription that wants it; returns how many
    events were fanned out. Each event is fanned out once, whatever the number of workers."""
    total = 0
    for _ in range(MAX_ROUNDS):
        for session in session_scope(engine):
            done = _fan_out_batch(session, now, batch)
        total += done
        if done < batch:
            break
    return total


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    subscription_id: str
    url: str
    secret: str
    message_id: str
    body: str
    lease_until: datetime


@dataclass(frozen=True)
class _Outcome:
    job: _Job
    started: float  # time.monotonic()
    duration_ms: int
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def claim_deliveries(engine: Engine, settings: Settings, now: datetime, batch: int) -> list[_Job]:
    """Lease up to `batch` deliveries due at `now`, until `now` + the lease."""
    lease_until = now + timedelta(seconds=settings.webhook_lease_seconds)
    jobs: list[_Job] = []
    for session in session_scope(engine):
        active = select(WebhookSubscription.id).where(
            col(WebhookSubscription.deleted_at).is_(None),
            col(WebhookSubscription.disabled_at).is_(None),
        )
        free = (
            col(WebhookDelivery.status) == DeliveryStatus.pending.value,
            or_(
                col(WebhookDelivery.lease_until).is_(None),
                col(WebhookDelivery.lease_until) < now,
            ),
        )
        claimed = [
            row[0]
            for row in claim_due(
                session,
                WebhookDelivery,
                free=free,
                due=(
                    col(WebhookDelivery.next_attempt_at) <= now,
                    col(WebhookDelivery.subscription_id).in_(active),
                ),
                order_by=(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id)),
                limit=batch,
                values={"lease_until": lease_until},
                returning=(col(WebhookDelivery.id),),
            )
        ]
        if not claimed:
            return []
        rows = session.exec(
            select(WebhookDelivery, OutboxEvent, WebhookSubscription)
            .join(OutboxEvent, col(OutboxEvent.id) == WebhookDelivery.event_id)
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == WebhookDelivery.subscription_id,
            )
            .where(col(WebhookDelivery.id).in_(claimed))
            .order_by(col(WebhookDelivery.id))
        ).all()
        for delivery, event, subscription in rows:
            assert delivery.id is not None
            jobs.append(
                _Job(
                    delivery_id=delivery.id,
                    subscription_id=subscription.id,
                    url=subscription.url,
                    secret=subscription.secret,
                    message_id=event.message_id,
                    # Compact, and exactly the text that is signed.
                    body=json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False),
                    lease_until=lease_until,
                )
            )
    return jobs


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    """The Standard Webhooks headers. The timestamp is the wall clock's, never the worker's
    notion of `now`: receivers refuse a timestamp far from their own clock (replays)."""
    timestamp = utc_now()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _send(client: httpx.Client, settings: Settings, job: _Job) -> _Outcome:
    started = time.monotonic()
    problem = target_problem(job.url, settings.webhook_hosts)
    if problem is not None:
        return _Outcome(job, started, 0, None, _clip(f"not sent: {problem}"))
    status_code: int | None = None
    error: str | None = None
    try:
        request = client.build_request(
            "POST",
            job.url,
            content=job.body.encode("utf-8"),
            headers=signed_headers(job.secret, job.message_id, job.body),
        )
        # The answer's body is never read: only its status matters.
        response = client.send(request, stream=True)
        response.close()
        status_code = response.status_code
        if response.is_redirect:
            error = f"HTTP {status_code}: redirects are not followed"
        elif not response.is_success:
            error = f"HTTP {status_code}"
    except httpx.TimeoutException:
        error = f"no answer within {settings.webhook_timeout_seconds:g} s"
    except Exception as exc:  # any failure of one delivery is that delivery's failure
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = round((time.monotonic() - started) * 1000)
    return _Outcome(job, started, duration_ms, status_code, None if error is None else _clip(error))


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt: base·2^(attempts-1), at most the cap,
    less up to a fifth at random so that receivers coming back are not hit all at once."""
    exponent = min(attempts - 1, 60)
    wait = min(
        settings.webhook_retry_base_seconds * 2.0**exponent, settings.webhook_retry_cap_seconds
    )
    return wait * _random.uniform(0.8, 1.0)


def _disable(
    session: Session, subscription: WebhookSubscription, at: datetime, error: str | None
) -> None:
    assert subscription.failing_since is not None
    subscription.disabled_at = at
    subscription.disabled_reason = _clip(
        f"every attempt failed since {subscription.failing_since.isoformat()} "
        f"(last: {error}); POST …/enable once the receiver works"
    )
    session.add(subscription)
    session.flush()
    failed = fail_pending(session, subscription.id, "subscription disabled")
    logger.warning(
        "webhook subscription disabled",
        extra={
            "subscription": subscription.id,
            "failing_since": subscription.failing_since.isoformat(),
            "pending_failed": failed,
        },
    )


def _record(
    engine: Engine, settings: Settings, worker_id: str, outcome: _Outcome, at: datetime
) -> None:
    job = outcome.job
    for session in session_scope(engine):
        # The subscription's row first, then the delivery's: the order every writer of both
        # follows (deleting or disabling fails the pending deliveries under the first).
        subscription = session.get(
            WebhookSubscription,
            job.subscription_id,
            with_for_update={"key_share": True},
            populate_existing=True,
        )
        delivery = session.get(
            WebhookDelivery, job.delivery_id, with_for_update=True, populate_existing=True
        )
        assert subscription is not None and delivery is not None
        session.add(
            WebhookAttempt(
                delivery_id=job.delivery_id,
                attempted_at=at,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                worker=worker_id[:64],
            )
        )
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        # A delivery failed meanwhile (its subscription deleted or disabled) keeps why.
        if outcome.delivered or delivery.status == DeliveryStatus.pending.value:
            delivery.last_error = outcome.error
        if delivery.lease_until == job.lease_until:  # else another worker has it now
            delivery.lease_until = None
        if outcome.delivered:
            delivery.status = DeliveryStatus.delivered.value
            delivery.delivered_at = at
            subscription.failing_since = None
        else:
            if delivery.status == DeliveryStatus.pending.value:
                deadline = delivery.created_at + timedelta(
                    seconds=settings.webhook_retry_for_seconds
                )
                if at >= deadline:
                    delivery.status = DeliveryStatus.failed.value
                else:
                    wait = timedelta(seconds=backoff_seconds(settings, delivery.attempts))
                    delivery.next_attempt_at = min(at + wait, deadline)
            if subscription.failing_since is None:
                subscription.failing_since = at
            failing_for = (at - subscription.failing_since).total_seconds()
            if (
                failing_for >= settings.webhook_disable_after_seconds
                and subscription.disabled_at is None
                and subscription.deleted_at is None
            ):
                session.add(delivery)
                _disable(session, subscription, at, outcome.error)
            logger.warning(
                "webhook delivery failed",
                extra={
                    "subscription": subscription.id,
                    "delivery": delivery.id,
                    "webhook_id": job.message_id,
                    "attempts": delivery.attempts,
                    "error": outcome.error,
                },
            )
        session.add(delivery)
        session.add(subscription)


def deliver_due(
    engine: Engine,
    settings: Settings,
    worker_id: str,
    now: datetime,
    *,
    client: httpx.Client | None = None,
    batch: int = CLAIM_BATCH,
) -> int:
    """Take the deliveries due at `now` and attempt each; returns how many were attempted."""
    own_client = client is None
    http = client or new_http_client(settings)
    total = 0
    began = time.monotonic()
    try:
        for _ in range(MAX_ROUNDS):
            # Each batch is leased from the moment it is taken, not from the round's start:
            # a late batch of a long round would otherwise be leased for less than a send
            # takes, or not at all, and another worker would send it at the same time.
            claimed_at = now + timedelta(seconds=time.monotonic() - began)
            jobs = claim_deliveries(engine, settings, claimed_at, batch)
            if not jobs:
                break
            _attempt(engine, settings, worker_id, claimed_at, http, jobs)
            total += len(jobs)
            if len(jobs) < batch:
                break
    finally:
        if own_client:
            http.close()
    return total


def new_http_client(settings: Settings) -> httpx.Client:
    # No proxies from the environment: the host checked against the allow-list must be the
    # one connected to.
    return httpx.Client(
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=CLAIM_BATCH * 2),
    )


def _attempt(
    engine: Engine,
    settings: Settings,
    worker_id: str,
    now: datetime,
    http: httpx.Client,
    jobs: Sequence[_Job],
) -> None:
    """Send every job at once; record each result as it comes (a kill then loses only the
    results still awaited, and those deliveries are sent again after their lease)."""
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="webhook") as pool:
        futures = [pool.submit(_send, http, settings, job) for job in jobs]
        for future in as_completed(futures):
            outcome = future.result()
            at = now + timedelta(seconds=outcome.started - began)
            _record(engine, settings, worker_id, outcome, at)
