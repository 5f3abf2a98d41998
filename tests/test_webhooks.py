"""Webhooks (issue 13 section 3): subscriptions and their rights, the host allow-list, signed
at-least-once delivery with a stable webhook-id, retries, disabling, redelivery, and two
workers racing without sending an event twice.

Deliveries go to a real receiver on loopback that keeps every request; the tests verify
each one with the Standard Webhooks algorithm (`standardwebhooks.Webhook.verify`)."""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import col, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.auth.models import Role
from app.core.db import create_db_engine, session_scope
from app.core.settings import Settings
from app.core.types import utc_now
from app.main import create_app
from app.outbox.models import EventType, OutboxEvent
from app.outbox.service import record_event
from app.webhooks.delivery import backoff_seconds, claim_deliveries, deliver_due, fan_out
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from app.webhooks.service import MAX_SUBSCRIPTIONS_PER_CLIENT
from app.webhooks.targets import host_allowed, target_problem
from tests.live import committed_token
from tests.records_helpers import NANJING, SUZHOU, city_url

Auth = Callable[..., dict[str, str]]
Headers = dict[str, str]
WEBHOOKS = "/api/v1/webhooks"
CAMPAIGN_ID = "js-2024"
PROBLEM = "application/problem+json"
HOOK_URL = "http://127.0.0.1:9/hook"  # never called: the API tests only subscribe


# --- a receiver on loopback -----------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> Any:
        """The body, once its signature checks out with the subscription's secret."""
        return Webhook(secret).verify(self.body, self.headers)


# (what arrived, how many requests arrived before it) -> the status to answer
Answer = Callable[[Received, int], int]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        receiver = self.server.receiver
        status = receiver.answer(received, receiver.keep(received))
        try:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", "http://127.0.0.1:9/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()
        except OSError:  # the sender gave up (a killed worker)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections when two workers send at once
    receiver: "Receiver"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection dropped by a killed worker is expected


class Receiver:
    """Records every POST; answers what `answer` says (default 200)."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.answer: Answer = answer or (lambda _received, _before: 200)
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def keep(self, received: Received) -> int:
        with self._arrived:
            before = len(self.received)
            self.received.append(received)
            self._arrived.notify_all()
            return before

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def at(self, path: str) -> list[Received]:
        with self._arrived:
            return [r for r in self.received if r.path == path]


# --- subscriptions (rolled back) -------------------------------------------------------


def subscribe(client: TestClient, headers: Headers, **body: Any) -> httpx.Response:
    document = {"url": HOOK_URL, "events": ["snapshot.accepted"], "campaign": CAMPAIGN_ID}
    response: httpx.Response = client.post(WEBHOOKS, json=document | body, headers=headers)
    return response


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def problem_fields(response: httpx.Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return [error["field"] for error in response.json()["errors"]]


def test_reporter_subscribes_for_its_own_city_and_sees_the_secret_once(
    client: TestClient, auth: Auth
) -> None:
    nanjing = auth("reporter", NANJING)
    subscription = created(subscribe(client, nanjing, events=["snapshot.returned"] * 2))
    assert subscription["city"] == NANJING  # the reporter's own city by default
    assert subscription["events"] == ["snapshot.returned"]
    assert subscription["state"] == "active"
    secret = subscription["secret"]
    assert secret.startswith("whsec_")
    Webhook(secret)  # a key the Standard Webhooks library accepts

    shown = client.get(f"{WEBHOOKS}/{subscription['id']}", headers=nanjing)
    assert shown.status_code == 200
    assert "secret" not in shown.json() and secret not in shown.text
    listed = client.get(WEBHOOKS, headers=nanjing)
    assert [s["id"] for s in listed.json()] == [subscription["id"]]
    assert secret not in listed.text


def test_reporter_may_not_subscribe_to_another_city(client: TestClient, auth: Auth) -> None:
    response = subscribe(client, auth("reporter", NANJING), city=SUZHOU)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM


def test_viewers_and_reviewers_subscribe_campaign_wide_and_see_only_their_own(
    client: TestClient, auth: Auth
) -> None:
    viewer, reviewer, admin = auth("viewer"), auth("reviewer"), auth("admin")
    nanjing = auth("reporter", NANJING)
    everywhere = created(subscribe(client, viewer, events=["deadline.missed", "period.locked"]))
    assert everywhere["city"] is None
    suzhou = created(subscribe(client, reviewer, city=SUZHOU))
    assert suzhou["city"] == SUZHOU
    mine = created(subscribe(client, nanjing))

    # another client's subscription does not exist as far as a non-administrator can tell
    assert client.get(f"{WEBHOOKS}/{everywhere['id']}", headers=nanjing).status_code == 404
    assert client.delete(f"{WEBHOOKS}/{everywhere['id']}", headers=reviewer).status_code == 404
    assert [s["id"] for s in client.get(WEBHOOKS, headers=viewer).json()] == [everywhere["id"]]
    every = {s["id"] for s in client.get(WEBHOOKS, headers=admin).json()}
    assert {everywhere["id"], suzhou["id"], mine["id"]} <= every

    assert client.delete(f"{WEBHOOKS}/{mine['id']}", headers=nanjing).status_code == 204
    assert client.delete(f"{WEBHOOKS}/{mine['id']}", headers=nanjing).status_code == 204
    assert client.get(WEBHOOKS, headers=nanjing).json() == []
    gone = client.get(f"{WEBHOOKS}/{mine['id']}", headers=nanjing).json()
    assert gone["state"] == "deleted" and gone["deleted_at"] is not None


REFUSED_TARGETS = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://evil.example/hook",
    "http://10.0.0.1/hook",
    "ftp://127.0.0.1/hook",
    "file:///etc/passwd",
    "http://user:secret@127.0.0.1/hook",
    "http://127.0.0.1.evil.example/hook",
    "http://127.0.0.1\\@evil.example/hook",
    "not a url",
]


def test_targets_off_the_allow_list_are_refused(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    for url in REFUSED_TARGETS:
        assert problem_fields(subscribe(client, admin, url=url), 422) == ["url"], url
    assert client.get(WEBHOOKS, headers=admin).json() == []
    assert created(subscribe(client, admin, url="http://localhost:8080/hook"))


def test_the_refusal_names_the_allow_list_setting(client: TestClient, auth: Auth) -> None:
    response = subscribe(client, auth("admin"), url="http://169.254.169.254/")
    (error,) = response.json()["errors"]
    assert "WEBHOOK_ALLOWED_HOSTS" in error["message"]
    assert "169.254.169.254" in error["message"]


def test_allow_list_entries_match_exactly_or_by_suffix() -> None:
    allowed = ["hooks.example.org", "*.city.example"]
    assert host_allowed("HOOKS.example.org.", allowed)
    assert host_allowed("nanjing.city.example", allowed)
    assert host_allowed("a.b.city.example", allowed)
    assert not host_allowed("city.example", allowed)
    assert not host_allowed("evilcity.example", allowed)
    assert not host_allowed("hooks.example.org.evil.example", allowed)
    assert target_problem("https://nanjing.city.example:8443/x?y=1", allowed) is None
    assert target_problem("https://127.0.0.1/", allowed) is not None
    assert target_problem("http://[::1]:8080/hook", ["::1"]) is None
    assert target_problem("http://127.0.0.1/", []) is not None  # production default: none


def test_unknown_campaign_city_and_event_type_name_their_field(
    client: TestClient, auth: Auth
) -> None:
    admin = auth("admin")
    assert problem_fields(subscribe(client, admin, campaign="zz-1999"), 422) == ["campaign"]
    assert problem_fields(subscribe(client, admin, city="110100"), 422) == ["city"]
    bad_type = subscribe(client, admin, events=["snapshot.accepted", "snapshot.deleted"])
    assert problem_fields(bad_type, 422) == ["events.1"]
    assert problem_fields(subscribe(client, admin, events=[]), 422) == ["events"]
    assert problem_fields(subscribe(client, admin, secret="mine"), 422) == ["secret"]


def test_a_client_has_a_bounded_number_of_subscriptions(client: TestClient, auth: Auth) -> None:
    viewer = auth("viewer")
    for _ in range(MAX_SUBSCRIPTIONS_PER_CLIENT):
        created(subscribe(client, viewer))
    refused = subscribe(client, viewer)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM


# --- delivery (committed data, real HTTP) ------------------------------------------------


@pytest.fixture(scope="module")
def live_client(live_settings: Settings, live_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(live_settings, live_engine)) as client:
        yield client


def set_aside(engine: Engine) -> None:
    """Earlier tests' subscriptions deleted, their events and deliveries settled: a test's
    worker calls then see its own work only."""
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            update(WebhookSubscription)
            .where(col(WebhookSubscription.deleted_at).is_(None))
            .values(deleted_at=now)
        )
        connection.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.status) == DeliveryStatus.pending.value)
            .values(status=DeliveryStatus.failed.value)
        )
        connection.execute(
            update(OutboxEvent)
            .where(col(OutboxEvent.fanned_out_at).is_(None))
            .values(fanned_out_at=now)
        )


@pytest.fixture
def engine_at_rest(live_engine: Engine) -> Engine:
    set_aside(live_engine)
    return live_engine


def token(settings: Settings, engine: Engine, role: Role, city: str | None = None) -> Headers:
    return {"Authorization": committed_token(settings, engine, role, city)}


def live_subscription(
    client: TestClient, headers: Headers, url: str, events: list[str], city: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "events": events, "campaign": CAMPAIGN_ID}
    if city is not None:
        body["city"] = city
    return created(client.post(WEBHOOKS, json=body, headers=headers))


def add_events(
    engine: Engine,
    count: int,
    city: str | None = NANJING,
    event_type: EventType = EventType.snapshot_accepted,
) -> list[str]:
    """`count` committed events; their webhook-ids."""
    for session in session_scope(engine):
        events = [
            record_event(session, event_type, CAMPAIGN_ID, city, {"table": "t1", "n": n})
            for n in range(count)
        ]
    return [event.message_id for event in events]


def work(engine: Engine, settings: Settings, now: datetime, worker: str = "test-worker") -> int:
    """One worker round: fan out, then deliver what is due."""
    fan_out(engine, settings, now)
    return deliver_due(engine, settings, worker, now)


def deliveries_of(engine: Engine, subscription_id: str) -> list[WebhookDelivery]:
    for session in session_scope(engine):
        rows = session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(col(WebhookDelivery.id))
        ).all()
    return list(rows)


def test_an_accepted_snapshot_is_delivered_once_signed_to_the_matching_subscriptions(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    engine = engine_at_rest
    nanjing = token(live_settings, engine, Role.reporter, NANJING)
    viewer = token(live_settings, engine, Role.viewer)
    with Receiver() as receiver:
        mine = live_subscription(
            live_client, nanjing, receiver.url("/nanjing"), ["snapshot.accepted"]
        )
        wrong_type = live_subscription(
            live_client, nanjing, receiver.url("/cases"), ["case.created", "snapshot.returned"]
        )
        other_city = live_subscription(
            live_client, viewer, receiver.url("/suzhou"), ["snapshot.accepted"], city=SUZHOU
        )
        province = live_subscription(
            live_client, viewer, receiver.url("/province"), ["snapshot.accepted"]
        )

        put = live_client.put(
            city_url(NANJING, "tables/t1/periods/W04"),
            json={"values": {"fairs_total": 7}},
            headers=nanjing,
        )
        assert put.status_code in (200, 201), put.text
        revision = put.json()["revision"]
        now = utc_now()
        assert work(engine, live_settings, now) == 2
        assert work(engine, live_settings, now) == 0  # nothing is sent twice

        assert receiver.at("/cases") == receiver.at("/suzhou") == []
        (delivered,) = receiver.at("/nanjing")
        (to_province,) = receiver.at("/province")
        assert delivered.webhook_id == to_province.webhook_id  # one event
        assert delivered.webhook_id.startswith("msg_")
        assert delivered.headers["content-type"] == "application/json"
        body = delivered.verified(mine["secret"])
        assert to_province.verified(province["secret"]) == body
        with pytest.raises(WebhookVerificationError):
            delivered.verified(province["secret"])
        assert set(body) == {"type", "timestamp", "data"}
        assert body["type"] == "snapshot.accepted"
        data = body["data"]
        assert data["campaign"] == CAMPAIGN_ID and data["city"] == NANJING
        assert (data["table"], data["period"], data["revision"]) == ("t1", "W04", revision)
        # the exact bytes signed: compact JSON
        assert b": " not in delivered.body and b", " not in delivered.body
        assert abs(int(delivered.headers["webhook-timestamp"]) - time.time()) < 60

    for subscription in (wrong_type, other_city):
        assert deliveries_of(engine, subscription["id"]) == []
    (row,) = deliveries_of(engine, mine["id"])
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    log = live_client.get(f"{WEBHOOKS}/{mine['id']}/deliveries", headers=nanjing).json()
    (entry,) = log["items"]
    assert entry["webhook_id"] == delivered.webhook_id and entry["status"] == "delivered"
    assert [a["status_code"] for a in entry["attempt_log"]] == [200]


def test_failures_are_retried_with_backoff_until_the_receiver_answers(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    engine, settings = engine_at_rest, live_settings
    admin = token(settings, engine, Role.admin)
    with Receiver(lambda _received, before: 503 if before < 2 else 204) as receiver:
        subscription = live_subscription(
            live_client, admin, receiver.url(), ["deadline.reminder"], city=NANJING
        )
        (webhook_id,) = add_events(engine, 1, event_type=EventType.deadline_reminder)
        t0 = utc_now()
        base = settings.webhook_retry_base_seconds

        assert work(engine, settings, t0) == 1
        (row,) = deliveries_of(engine, subscription["id"])
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 503)
        wait = (row.next_attempt_at - t0).total_seconds()
        assert 0.8 * base - 1 <= wait <= base + 1
        assert work(engine, settings, t0 + timedelta(seconds=wait / 2)) == 0  # not yet due

        t1 = row.next_attempt_at
        assert work(engine, settings, t1) == 1
        (row,) = deliveries_of(engine, subscription["id"])
        assert (row.status, row.attempts) == ("pending", 2)
        wait = (row.next_attempt_at - t1).total_seconds()
        assert 1.6 * base - 1 <= wait <= 2 * base + 1  # doubled

        failing = live_client.get(f"{WEBHOOKS}/{subscription['id']}", headers=admin).json()
        assert failing["failing_since"] is not None and failing["state"] == "active"

        assert work(engine, settings, row.next_attempt_at) == 1
        received = receiver.wait_for(3)
    assert [r.webhook_id for r in received] == [webhook_id] * 3
    for attempt in received:
        attempt.verified(subscription["secret"])
    (row,) = deliveries_of(engine, subscription["id"])
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 3, 204)
    healthy = live_client.get(f"{WEBHOOKS}/{subscription['id']}", headers=admin).json()
    assert healthy["failing_since"] is None
    log = live_client.get(f"{WEBHOOKS}/{subscription['id']}/deliveries", headers=admin).json()
    assert [a["status_code"] for a in log["items"][0]["attempt_log"]] == [503, 503, 204]


def test_backoff_doubles_up_to_the_cap(live_settings: Settings) -> None:
    settings = live_settings.model_copy(
        update={"webhook_retry_base_seconds": 10.0, "webhook_retry_cap_seconds": 300.0}
    )
    for attempts, full in [(1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (40, 300)]:
        wait = backoff_seconds(settings, attempts)
        assert 0.8 * full <= wait <= full


def test_retries_stop_after_the_retry_period(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    engine = engine_at_rest
    settings = live_settings.model_copy(
        update={"webhook_retry_for_seconds": 100.0, "webhook_retry_base_seconds": 60.0}
    )
    admin = token(settings, engine, Role.admin)
    with Receiver(lambda _received, _before: 500) as receiver:
        subscription = live_subscription(live_client, admin, receiver.url(), ["case.created"])
        add_events(engine, 1, event_type=EventType.case_created)
        t0 = utc_now()
        work(engine, settings, t0)
        (row,) = deliveries_of(engine, subscription["id"])
        work(engine, settings, row.next_attempt_at)
        (row,) = deliveries_of(engine, subscription["id"])
        # the last attempt is at the end of the retry period, not after it
        assert row.next_attempt_at == row.created_at + timedelta(seconds=100)
        work(engine, settings, row.next_attempt_at)
        assert len(receiver.wait_for(3)) == 3
    (row,) = deliveries_of(engine, subscription["id"])
    assert (row.status, row.attempts) == ("failed", 3)


def test_a_subscription_failing_for_too_long_is_disabled_and_can_be_enabled(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    engine = engine_at_rest
    settings = live_settings.model_copy(update={"webhook_disable_after_seconds": 600.0})
    viewer = token(settings, engine, Role.viewer)
    healthy = threading.Event()
    with Receiver(lambda _r, _b: 200 if healthy.is_set() else 500) as receiver:
        subscription = live_subscription(live_client, viewer, receiver.url(), ["urgent.reported"])
        url = f"{WEBHOOKS}/{subscription['id']}"
        add_events(engine, 2, event_type=EventType.urgent_reported)
        t0 = utc_now()
        assert work(engine, settings, t0) == 2
        assert live_client.get(url, headers=viewer).json()["state"] == "active"

        later = t0 + timedelta(seconds=601)
        assert work(engine, settings, later) == 2
        disabled = live_client.get(url, headers=viewer).json()
        assert disabled["state"] == "disabled" and disabled["disabled_reason"]
        rows = deliveries_of(engine, subscription["id"])
        assert [(r.status, r.last_error) for r in rows] == [("failed", "subscription disabled")] * 2

        # nothing is sent to a disabled subscription, not even new events
        add_events(engine, 1, event_type=EventType.urgent_reported)
        assert work(engine, settings, later + timedelta(hours=1)) == 0
        assert len(receiver.received) == 4

        healthy.set()
        enabled = live_client.post(f"{url}/enable", headers=viewer)
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["state"] == "active" and enabled.json()["failing_since"] is None
        (webhook_id,) = add_events(engine, 1, event_type=EventType.urgent_reported)
        assert work(engine, settings, utc_now()) == 1
        assert receiver.wait_for(5)[-1].webhook_id == webhook_id


def test_redelivery_sends_the_same_webhook_id_again(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    engine, settings = engine_at_rest, live_settings
    reviewer = token(settings, engine, Role.reviewer)
    with Receiver() as receiver:
        subscription = live_subscription(
            live_client, reviewer, receiver.url(), ["snapshot.approved"]
        )
        (webhook_id,) = add_events(engine, 1, SUZHOU, EventType.snapshot_approved)
        assert work(engine, settings, utc_now()) == 1
        (row,) = deliveries_of(engine, subscription["id"])
        assert row.status == "delivered"

        again = live_client.post(
            f"{WEBHOOKS}/{subscription['id']}/deliveries/{row.id}/redeliver", headers=reviewer
        )
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "pending" and again.json()["webhook_id"] == webhook_id
        assert work(engine, settings, utc_now()) == 1
        first, second = receiver.wait_for(2)
    assert first.webhook_id == second.webhook_id == webhook_id
    assert first.verified(subscription["secret"]) == second.verified(subscription["secret"])
    (row,) = deliveries_of(engine, subscription["id"])
    assert (row.status, row.attempts) == ("delivered", 2)

    someone_else = token(settings, engine, Role.reviewer)
    other = live_client.post(
        f"{WEBHOOKS}/{subscription['id']}/deliveries/{row.id}/redeliver", headers=someone_else
    )
    assert other.status_code == 404
    unknown = live_client.post(
        f"{WEBHOOKS}/{subscription['id']}/deliveries/{(row.id or 0) + 1000}/redeliver",
        headers=reviewer,
    )
    assert unknown.status_code == 404


def test_deleting_a_subscription_fails_its_pending_deliveries(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    engine, settings = engine_at_rest, live_settings
    nanjing = token(settings, engine, Role.reporter, NANJING)
    subscription = live_subscription(live_client, nanjing, HOOK_URL, ["snapshot.accepted"])
    add_events(engine, 3)
    fan_out(engine, settings, utc_now())
    assert {r.status for r in deliveries_of(engine, subscription["id"])} == {"pending"}

    deleted = live_client.delete(f"{WEBHOOKS}/{subscription['id']}", headers=nanjing)
    assert deleted.status_code == 204
    rows = deliveries_of(engine, subscription["id"])
    assert [(r.status, r.last_error) for r in rows] == [("failed", "subscription deleted")] * 3
    assert deliver_due(engine, settings, "w", utc_now() + timedelta(days=1)) == 0
    log = live_client.get(f"{WEBHOOKS}/{subscription['id']}/deliveries", headers=nanjing)
    assert [d["status"] for d in log.json()["items"]] == ["failed"] * 3
    refused = live_client.post(f"{WEBHOOKS}/{subscription['id']}/enable", headers=nanjing)
    assert refused.status_code == 409


def test_the_delivery_log_is_paginated(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    engine, settings = engine_at_rest, live_settings
    viewer = token(settings, engine, Role.viewer)
    subscription = live_subscription(live_client, viewer, HOOK_URL, ["period.locked"])
    add_events(engine, 5, None, EventType.period_locked)  # campaign-wide events
    fan_out(engine, settings, utc_now())
    url = f"{WEBHOOKS}/{subscription['id']}/deliveries"
    seen: list[int] = []
    page = live_client.get(url, params={"limit": 2}, headers=viewer).json()
    while True:
        seen += [d["id"] for d in page["items"]]
        if page["next_cursor"] is None:
            break
        page = live_client.get(
            url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=viewer
        ).json()
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    assert live_client.get(url, params={"limit": 501}, headers=viewer).status_code == 422
    pending = live_client.get(url, params={"status": "delivered"}, headers=viewer).json()
    assert pending["items"] == []


def test_the_allow_list_is_checked_again_and_redirects_are_not_followed(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    engine = engine_at_rest
    admin = token(live_settings, engine, Role.admin)
    with Receiver(lambda _r, _b: 307) as receiver:
        subscription = live_subscription(live_client, admin, receiver.url(), ["case.adopted"])
        add_events(engine, 1, event_type=EventType.case_adopted)
        assert work(engine, live_settings, utc_now()) == 1
        (row,) = deliveries_of(engine, subscription["id"])
        assert row.last_status_code == 307 and "redirect" in (row.last_error or "")
        assert len(receiver.received) == 1  # the Location was not visited

        narrowed = live_settings.model_copy(update={"webhook_allowed_hosts": ["hooks.example"]})
        assert deliver_due(engine, narrowed, "w", row.next_attempt_at) == 1
        assert len(receiver.received) == 1
    (row,) = deliveries_of(engine, subscription["id"])
    assert row.attempts == 2 and row.last_status_code is None
    assert "WEBHOOK_ALLOWED_HOSTS" in (row.last_error or "")


def test_two_workers_racing_send_each_event_once(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    settings = live_settings
    admin = token(settings, engine_at_rest, Role.admin)
    count = 200
    with Receiver() as receiver:
        subscription = live_subscription(
            live_client, admin, receiver.url(), ["snapshot.accepted"], city=NANJING
        )
        webhook_ids = add_events(engine_at_rest, count)
        engines = [create_db_engine(settings.sqlalchemy_url) for _ in range(2)]
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def worker(engine: Engine, name: str) -> None:
            try:
                start.wait()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    # Small batches, so that the two take turns many times.
                    fan_out(engine, settings, utc_now(), batch=7)
                    deliver_due(engine, settings, name, utc_now(), batch=5)
                    if len(receiver.received) >= count:
                        return
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=worker, args=(engine, f"w{n}"))
            for n, engine in enumerate(engines)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for engine in engines:
            engine.dispose()
        assert not errors, errors
        received = receiver.wait_for(count)
        time.sleep(0.2)  # a duplicate would arrive now
        received = list(receiver.received)
    got = [r.webhook_id for r in received]
    assert len(got) == len(set(got)) == count
    assert set(got) == set(webhook_ids)
    rows = deliveries_of(engine_at_rest, subscription["id"])
    assert len(rows) == count
    assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}
    workers = {
        a["worker"]
        for page in [
            live_client.get(
                f"{WEBHOOKS}/{subscription['id']}/deliveries",
                params={"limit": 500},
                headers=admin,
            ).json()
        ]
        for d in page["items"]
        for a in d["attempt_log"]
    }
    assert workers == {"w0", "w1"}  # both took part


def test_a_lease_runs_from_its_claim_not_from_the_start_of_the_round(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    """Found live: a worker's round took batch after batch with the round's start time, so a
    later batch's lease could be over before it was even sent, and a second, healthy worker
    sent the same webhook at the same time."""
    settings = live_settings.model_copy(
        update={"webhook_lease_seconds": 1.0, "webhook_timeout_seconds": 5.0}
    )
    admin = token(settings, engine_at_rest, Role.admin)

    def slowly(_received: Received, _before: int) -> int:
        time.sleep(1.2)  # longer than the lease: the first batch ends after it would have
        return 200

    with Receiver(slowly) as receiver:
        live_subscription(live_client, admin, receiver.url(), ["snapshot.accepted"], NANJING)
        webhook_ids = add_events(engine_at_rest, 2)
        began = utc_now()
        fan_out(engine_at_rest, settings, began)
        first = threading.Thread(
            target=deliver_due, args=(engine_at_rest, settings, "first", began), kwargs={"batch": 1}
        )
        first.start()
        time.sleep(1.6)  # the first worker is sending its second batch now
        other = create_db_engine(settings.sqlalchemy_url)
        try:
            deliver_due(other, settings, "second", utc_now(), batch=1)
        finally:
            other.dispose()
        first.join(10)
        receiver.wait_for(2)
        time.sleep(0.2)  # a duplicate would arrive now
        got = [r.webhook_id for r in receiver.received]
    assert sorted(got) == sorted(webhook_ids), "a webhook was sent twice at the same time"


def test_a_worker_takes_at_most_a_batch_at_a_time(
    live_client: TestClient, live_settings: Settings, engine_at_rest: Engine
) -> None:
    """Found live on PostgreSQL: a claim of one delivery took every due one (the planner ran
    the row-locking subquery again for each row, and a row the statement had just leased no
    longer counted as taken)."""
    admin = token(live_settings, engine_at_rest, Role.admin)
    with Receiver() as receiver:
        live_subscription(live_client, admin, receiver.url(), ["snapshot.accepted"], NANJING)
        add_events(engine_at_rest, 5)
        fan_out(engine_at_rest, live_settings, utc_now())
        claimed = [
            len(claim_deliveries(engine_at_rest, live_settings, utc_now(), batch))
            for batch in (1, 2, 5)
        ]
    assert claimed == [1, 2, 2]
