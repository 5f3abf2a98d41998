"""`GET …/campaigns/{campaign}/stream`: Server-Sent Events of the campaign's events."""

import time
from collections.abc import AsyncIterable, Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query, Request
from jose import jwt
from sqlmodel import Session
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from app.auth.dependencies import PrincipalDep
from app.auth.models import Role
from app.auth.policy import Principal
from app.campaigns.service import get_definition
from app.core.deps import ReadSessionDep, SettingsDep, short_read
from app.core.errors import FieldError, Forbidden, InvalidInput, ServiceUnavailable
from app.core.params import CampaignId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.core.settings import Settings
from app.outbox.models import EventType
from app.outbox.service import last_event_id
from app.stream.service import (
    RETRY_MILLISECONDS,
    SEPARATOR,
    StreamPlan,
    StreamSlots,
    event_stream,
    feed_for,
)

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["stream"])

EVENT_ID_PATTERN = r"^\d{1,18}$"
EVENT_STREAM = "text/event-stream"
# A refused stream: the server is full of dashboards; one closing takes a while.
FULL_RETRY_AFTER_SECONDS = 5

STREAM_DESCRIPTION = f"""
Server-Sent Events (`{EVENT_STREAM}`) of the campaign's changes, as they are committed, for
live dashboards. Each event is one entry of the outbox that also feeds the webhooks:

- `id`: the event's id, increasing in commit order; send it back as `Last-Event-ID`.
- `event`: its type, one of {", ".join(f"`{t.value}`" for t in EventType)}.
- `data`: the JSON envelope a webhook delivery carries, `{{"type", "timestamp", "data"}}`,
  where `data` holds the campaign, the city (`null` for a campaign-wide event such as
  `period.locked`) and the item's identifiers; never contact details.

**Who sees what.** Viewers, reviewers and administrators get every event of the campaign;
a city's reporter gets its own city's events and the campaign-wide ones.

**Where it starts.** Without `Last-Event-ID` the stream starts at the newest event: history
is not replayed (read it from the API). With it, the stream first sends every event after
that id that the caller may see, in order, then the new ones. A browser's `EventSource`
sends the header by itself when it reconnects; for the first connection (which cannot set
headers) the `last_event_id` query parameter does the same. The header wins when both are
sent. An id the campaign has not reached yet is refused with 422.

**On the wire.** The stream opens with a comment, an `id:` line naming the id it starts after
(so a client that reconnects before any event resumes there) and `retry: {RETRY_MILLISECONDS}`.
Comment lines (`: …`) are heart-beats, every `STREAM_HEARTBEAT_SECONDS` (15 s by default).
The stream ends when the access token that opened it expires, or after `STREAM_MAX_SECONDS`
(an hour by default) if sooner: reconnect with `Last-Event-ID` (and a fresh token).
A write is on the stream within about `STREAM_POLL_SECONDS` (0.5 s by default), whichever
server process took it. A process serves at most `MAX_STREAMS` streams at once; beyond, 503
with `Retry-After`.
""".strip()

STREAM_EXAMPLE = (
    f": events of js-2024 after 41\nid: 41\nretry: {RETRY_MILLISECONDS}\n\n"
    "id: 42\nevent: snapshot.accepted\n"
    'data: {"type":"snapshot.accepted","timestamp":"2024-02-23T07:12:09.512000+00:00",'
    '"data":{"campaign":"js-2024","city":"320100","table":"t1","period":"W04",'
    '"revision":2,"status":"accepted","received_at":"2024-02-23T07:12:09.512000+00:00"}}\n\n'
    ": heart-beat\n\n"
)

LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        pattern=EVENT_ID_PATTERN,
        description="Resume after this event id: every later event is sent first.",
        examples=["41"],
    ),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(
        pattern=EVENT_ID_PATTERN,
        description="As the `Last-Event-ID` header, for a first connection that cannot set "
        "headers (a browser's EventSource); the header wins when both are sent.",
        examples=["41"],
    ),
]


class EventStreamResponse(EventSourceResponse):
    """Gives its slot back however the response ends: the stream over, the client gone, or
    an error."""

    def __init__(
        self,
        content: AsyncIterable[ServerSentEvent],
        *,
        release: Callable[[], None],
        heartbeat_seconds: float,
    ) -> None:
        super().__init__(
            content,
            ping=heartbeat_seconds,
            sep=SEPARATOR,
            ping_message_factory=lambda: ServerSentEvent(comment="heart-beat", sep=SEPARATOR),
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def stream_slots(app: FastAPI, settings: Settings) -> StreamSlots:
    slots: StreamSlots | None = getattr(app.state, "stream_slots", None)
    if slots is None:
        slots = app.state.stream_slots = StreamSlots(settings.max_streams)
    return slots


def visible_city(principal: Principal) -> str | None:
    """None: every event; a city: that city's and the campaign-wide ones."""
    if principal.role is not Role.reporter:
        return None
    if principal.city is None:
        raise Forbidden(f"reporter {principal.client_id!r} is bound to no city")
    return principal.city


def token_lifetime(request: Request) -> float:
    """Seconds until the bearer token of the request expires (get_principal verified it): a
    stream outlives neither its token nor a client disabled since."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    expires = float(jwt.get_unverified_claims(token)["exp"])
    return max(0.0, expires - time.time())


def newest_event(session: Session, campaign: str) -> int:
    get_definition(session, campaign)  # 404 for a campaign that does not exist
    return last_event_id(session, campaign)


@router.get(
    "/{campaign}/stream",
    summary="Live change stream: the campaign's events as Server-Sent Events",
    description=STREAM_DESCRIPTION,
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "The event stream (it stays open; see above)",
            "content": {EVENT_STREAM: {"schema": {"type": "string"}, "example": STREAM_EXAMPLE}},
        },
        **problem_responses(401, 403, 404, 422, 503),
    },
)
async def stream_events(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    campaign: CampaignId,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventSourceResponse:
    city = visible_city(principal)
    newest = await short_read(session, lambda s: newest_event(s, campaign))
    after = newest
    resume = last_event_id_header if last_event_id_header is not None else last_event_id
    if resume is not None:
        after = int(resume)
        if after > newest:
            field = "header.Last-Event-ID" if last_event_id_header else "query.last_event_id"
            raise InvalidInput(
                f"event {after} is not an event of {campaign}: its newest is {newest}",
                errors=[
                    FieldError(field, "unknown_event", f"at most {newest}, the newest event id")
                ],
            )
    slots = stream_slots(request.app, settings)
    if not slots.take():
        raise ServiceUnavailable(
            f"this server process already serves {slots.limit} live streams, the most it "
            f"takes; retry in {FULL_RETRY_AFTER_SECONDS} s",
            retry_after_seconds=FULL_RETRY_AFTER_SECONDS,
        )
    plan = StreamPlan(
        campaign_id=campaign,
        after_id=after,
        city=city,
        poll_seconds=settings.stream_poll_seconds,
        max_seconds=min(settings.stream_max_seconds, token_lifetime(request)),
    )
    return EventStreamResponse(
        event_stream(feed_for(request.app.state.read_engine, campaign), plan),
        release=slots.release,
        heartbeat_seconds=settings.stream_heartbeat_seconds,
    )
