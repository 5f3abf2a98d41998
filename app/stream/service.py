"""The live change stream: a campaign's outbox events as Server-Sent Events.

Every stream reads the outbox table itself, so a write through any server process reaches
the streams of every other. Within one process the streams of a campaign share one `Feed`:
the campaign's newest event id is asked of the database at most twice per poll interval
however many dashboards watch, and a stream reads events only when that id has moved past
what it has sent.
"""

import functools
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from prometheus_client import Counter, Gauge
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from sse_starlette import ServerSentEvent

from app.core.observability import REGISTRY
from app.outbox.service import PAGE, envelope, events_after, last_event_id

Read = TypeVar("Read")
logger = logging.getLogger("app.stream")

# The client's wait before it reconnects (the stream's `retry:` field).
RETRY_MILLISECONDS = 2000
SEPARATOR = "\n"

OPEN_STREAMS = Gauge("sse_streams_open", "Live change streams open", registry=REGISTRY)
REFUSED_STREAMS = Counter(
    "sse_streams_refused_total", "Live change streams refused at max_streams", registry=REGISTRY
)


@dataclass(frozen=True)
class StreamPlan:
    campaign_id: str
    after_id: int  # the last event the client has: it is sent every later one
    city: str | None  # a reporter's city: only its events and campaign-wide ones
    poll_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class StreamEvent:
    """One outbox event as the stream sends it: `id`, `event` (its type), `data` (the JSON
    envelope, as a webhook delivery's body)."""

    id: int
    type: str
    data: str

    def message(self) -> ServerSentEvent:
        return ServerSentEvent(self.data, event=self.type, id=str(self.id), sep=SEPARATOR)


def comment(text: str, *, event_id: int | None = None, retry: bool = False) -> ServerSentEvent:
    """A message no listener sees: a comment, and optionally the id a reconnecting client
    resumes after (an `id:` without `data:` sets it without dispatching an event) and the
    reconnection delay."""
    return ServerSentEvent(
        comment=text,
        id=None if event_id is None else str(event_id),
        retry=RETRY_MILLISECONDS if retry else None,
        sep=SEPARATOR,
    )


async def read_in_thread(engine: Engine, read: Callable[[Session], Read]) -> Read:
    """`read` in a session of its own, in a worker thread: a stream holds no connection
    between polls."""

    def run() -> Read:
        with Session(engine) as session:
            return read(session)

    return await anyio.to_thread.run_sync(run)


def visible_events(plan: StreamPlan, after_id: int, session: Session) -> list[StreamEvent]:
    """The next page of the events after `after_id` that the stream's caller may see."""
    return [
        StreamEvent(
            event.id,
            event.type,
            json.dumps(envelope(event), ensure_ascii=False, separators=(",", ":")),
        )
        for event in events_after(session, plan.campaign_id, after_id, city=plan.city, limit=PAGE)
        if event.id is not None
    ]


class Feed:
    """One campaign's newest event id as this process last read it, shared by its streams."""

    def __init__(self, engine: Engine, campaign_id: str) -> None:
        self.engine = engine
        self.campaign_id = campaign_id
        self.newest = 0
        self.checked_at = -math.inf
        self._lock = anyio.Lock()
        self._moved = anyio.Event()

    async def newest_id(self, max_age: float) -> int:
        """The newest id, read again when the last reading is older than `max_age`; streams
        waiting in `wait` are woken when it changes."""
        async with self._lock:
            if time.monotonic() - self.checked_at >= max_age:
                newest = await read_in_thread(
                    self.engine, lambda s: last_event_id(s, self.campaign_id)
                )
                self.checked_at = time.monotonic()
                if newest != self.newest:
                    self.newest = newest
                    self._moved.set()
                    self._moved = anyio.Event()
        return self.newest

    async def wait(self, seconds: float) -> None:
        """Until another stream sees the newest id change, or `seconds` pass."""
        with anyio.move_on_after(seconds):
            await self._moved.wait()


# Locks and events belong to their event loop: one set of feeds per loop (and per engine:
# tests serve several databases from one process).
_feeds: RunVar[dict[tuple[Engine, str], Feed]] = RunVar("stream_feeds")


def feed_for(engine: Engine, campaign_id: str) -> Feed:
    try:
        feeds = _feeds.get()
    except LookupError:
        feeds = {}
        _feeds.set(feeds)
    feed = feeds.get((engine, campaign_id))
    if feed is None:
        feed = feeds[engine, campaign_id] = Feed(engine, campaign_id)
    return feed


async def event_stream(feed: Feed, plan: StreamPlan) -> AsyncIterator[ServerSentEvent]:
    """The stream's messages: a greeting with the starting id and the `retry:` delay, then each
    event the caller may see, oldest first, until `max_seconds` have passed."""
    deadline = time.monotonic() + plan.max_seconds
    cursor = plan.after_id
    yield comment(f"events of {plan.campaign_id} after {cursor}", event_id=cursor, retry=True)
    try:
        while True:
            # Half the interval: a stream that waited one interval always finds the reading
            # old enough to take a fresh one, whichever stream of the campaign took the last.
            newest = await feed.newest_id(plan.poll_seconds / 2)
            if newest > cursor:
                events = await read_in_thread(
                    feed.engine, functools.partial(visible_events, plan, cursor)
                )
                for event in events:
                    yield event.message()
                if len(events) == PAGE:  # catching up: the next page at once
                    cursor = events[-1].id
                    continue
                # Ids are drawn in commit order: every event up to `newest` was committed
                # before the read above began, so what it did not return the caller may
                # not see.
                cursor = max(newest, events[-1].id if events else cursor)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                yield comment(
                    f"the stream ends after {plan.max_seconds:.0f} s: reconnect with Last-Event-ID"
                )
                return
            await feed.wait(min(plan.poll_seconds, remaining))
    except (OperationalError, PoolTimeout) as exc:
        # The client reconnects with Last-Event-ID and hears 503 until the database is back.
        logger.warning(
            "live stream ended: database unavailable",
            extra={"campaign": plan.campaign_id, "error": type(exc).__name__},
        )
        yield comment("the database is unavailable: reconnect with Last-Event-ID")


class StreamSlots:
    """At most `limit` streams open in this process: each holds a connection (and costs
    polls) for up to an hour, so they are counted apart from admission control's
    requests in flight."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0  # only touched on the event loop: no lock needed

    def take(self) -> bool:
        if self.open >= self.limit:
            REFUSED_STREAMS.inc()
            return False
        self.open += 1
        OPEN_STREAMS.inc()
        return True

    def release(self) -> None:
        self.open -= 1
        OPEN_STREAMS.dec()
