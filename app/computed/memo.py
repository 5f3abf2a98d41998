"""ETags and a small memo for computed views, keyed by the campaign's change counter.

A memoized answer keeps its gzip form beside it, made once on first demand: a dashboard
polling `/goals` costs no compression per request.
"""

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from fastapi import Request, Response
from sqlmodel import Session

from app.core.changes import DOMAINS, change_token
from app.core.conditional import none_match
from app.core.deps import in_unit_of_work

MEMO_ENTRIES = 256
# Level 3: a 4 MB national /goals compresses in 14 ms instead of 33 ms at level 6 (measured),
# for a body a quarter larger; it is paid once per change of the data.
GZIP_LEVEL = 3
GZIP_SUFFIX = '-gzip"'


@dataclass
class _Answer:
    body: bytes
    gzipped: bytes | None = None


_memo: OrderedDict[str, _Answer] = OrderedDict()
_lock = threading.Lock()


def clear() -> None:
    """Forget every memoized answer (benchmarks; tests, whose rolled-back databases reuse
    change-counter values)."""
    with _lock:
        _memo.clear()
        _remembered.clear()
        _asked.clear()


def _request_key(request: Request) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    return f"{request.url.path}|{query}"


def view_etag(request: Request, change: str, extra: str = "") -> str:
    return _etag(_request_key(request), change, extra)


def _etag(request_key: str, change: str, extra: str) -> str:
    key = f"{change}|{request_key}|{extra}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Either representation's tag matches (the gzip one is the same answer, compressed)."""
    return none_match(if_none_match, etag, etag[:-1] + GZIP_SUFFIX)


def compress(body: bytes) -> bytes:
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


@dataclass(frozen=True)
class PendingView:
    """A computed view's answer before it is computed: the campaign whose changes it
    follows, how to compute its JSON body, the clock's minute when the body took a default
    from the clock ("" when it did not), and the domains of campaign data it reads."""

    campaign_id: str
    compute: Callable[[], bytes]
    clock: str = ""
    reads: frozenset[str] = DOMAINS


def clock_minute(now: datetime) -> str:
    """Defaults that depend on the clock change at most once a minute."""
    return now.strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Remembered:
    """The answer last given for a path and query, and what it was given for: while the
    campaign's change token and (if the answer took a default from the clock) the minute
    are the same, the same request gets the same answer (app.computed.remembered serves it
    without running the route)."""

    campaign_id: str
    reads: frozenset[str]
    change: str
    clock: str
    etag: str
    route: object  # the route that answered (its path template labels the metrics)
    recipe: "Recipe"


# How to build a view on a session: a `functools.partial` of a function of
# app.computed.answers and the request's parsed parameters, so that it pickles (an import
# process builds the polled views too, see `precompute`).
Recipe = Callable[[Session], PendingView]

_remembered: OrderedDict[str, Remembered] = OrderedDict()
# request key -> when a client last asked (time.monotonic())
_asked: dict[str, float] = {}


def remembered(request: Request) -> Remembered | None:
    key = _request_key(request)
    with _lock:
        entry = _remembered.get(key)
        if entry is not None:
            _asked[key] = time.monotonic()
        return entry


def _remember(request: Request, entry: Remembered) -> None:
    key = _request_key(request)
    with _lock:
        _keep(key, entry)


def _keep(key: str, entry: Remembered) -> None:
    _remembered[key] = entry
    _remembered.move_to_end(key)
    _asked[key] = time.monotonic()
    while len(_remembered) > MEMO_ENTRIES:
        forgotten, _ = _remembered.popitem(last=False)
        _asked.pop(forgotten, None)


def cached_view(request: Request, session: Session, recipe: Recipe) -> Response:
    """304 when the client has the current answer; otherwise the memoized or freshly
    computed JSON body.

    The change token is read before any data, so a memo entry is never older than its key.
    The answer must be the same for every authenticated caller: it is served again to any.
    """
    view = recipe(session)
    change = change_token(session, view.campaign_id, view.reads)
    etag = view_etag(request, change, view.clock)
    answer = _memoized(etag)
    if answer is None and not _matches(request.headers.get("if-none-match"), etag):
        answer = _computed_once(etag, view.compute)
    route = request.scope.get("route")
    _remember(
        request,
        Remembered(view.campaign_id, view.reads, change, view.clock, etag, route, recipe),
    )
    response = respond(request, etag, answer)
    assert response is not None  # an answer, or a 304 that needs none
    return response


def answer_view(request: Request, recipe: Recipe) -> Response:
    """A view's answer (or 304), read in a unit of work of its own that ends before this
    returns: called in a worker thread, by the views' routes and by app.computed.remembered
    (which has no route's session). One thread hop per fresh answer, none to end the read."""
    sessions = request.app.state.read_sessions
    return in_unit_of_work(sessions, partial(cached_view, request, recipe=recipe))


# etag -> held while one request computes that answer: after a write, every dashboard
# polling a view asks for the same new answer at once, and they wait for one computation
# instead of each running its own on the same two cores.
_computing: dict[str, threading.Lock] = {}


def _computed_once(etag: str, compute: Callable[[], bytes]) -> _Answer:
    with _lock:
        gate = _computing.setdefault(etag, threading.Lock())
    try:
        with gate:
            answer = _memoized(etag)
            if answer is None:  # the first in; later ones find what it memoized
                answer = _Answer(compute())
                with _lock:
                    _memo[etag] = answer
                    while len(_memo) > MEMO_ENTRIES:
                        _memo.popitem(last=False)
        return answer
    finally:
        # The last one out forgets the gate (one still waiting holds or awaits it).
        with _lock:
            if _computing.get(etag) is gate and not gate.locked():
                del _computing[etag]


def _memoized(etag: str) -> _Answer | None:
    with _lock:
        answer = _memo.get(etag)
        if answer is not None:
            _memo.move_to_end(etag)
        return answer


def memoized_response(request: Request, etag: str) -> Response | None:
    """The answer memoized under `etag` (or 304), None when the memo has let it go."""
    return respond(request, etag, _memoized(etag))


def respond(request: Request, etag: str, answer: _Answer | None) -> Response | None:
    """304 when the client has the answer tagged `etag`; else the answer, compressed for
    clients that ask; None when a body is needed and there is none."""
    compressed = accepts_gzip(request)
    headers = {
        "ETag": etag[:-1] + GZIP_SUFFIX if compressed else etag,
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if answer is None:
        return None
    if not compressed:
        return Response(answer.body, media_type="application/json", headers=headers)
    if answer.gzipped is None:
        # Two requests may both compress a new answer once; either result is the same.
        answer.gzipped = compress(answer.body)
    return Response(
        answer.gzipped,
        media_type="application/json",
        headers=headers | {"Content-Encoding": "gzip"},
    )


# Views a client asked for this recently are polled: a write precomputes them.
POLLED_SECONDS = 120.0
# At most this many per write (each one is computed inside the write's transaction).
MAX_PRECOMPUTED = 4


@dataclass(frozen=True, slots=True)
class Poll:
    """A polled view: its request key and how to build it."""

    key: str
    recipe: Recipe


@dataclass(frozen=True, slots=True)
class Precomputed:
    """A polled view's answer to the data a write is about to commit."""

    key: str
    change: str
    clock: str
    etag: str
    body: bytes


def polled(campaign_id: str, domain: str) -> list[Poll]:
    """The views of this campaign that follow `domain` and were asked for lately, the most
    recently asked first."""
    now = time.monotonic()
    with _lock:
        recent = sorted(
            (
                (asked, key)
                for key, asked in _asked.items()
                if now - asked <= POLLED_SECONDS
                and _remembered[key].campaign_id == campaign_id
                and domain in _remembered[key].reads
            ),
            reverse=True,
        )
        return [Poll(key, _remembered[key].recipe) for _, key in recent[:MAX_PRECOMPUTED]]


def precompute(session: Session, polls: list[Poll]) -> list[Precomputed]:
    """The polled views computed on a session that has written but not yet committed: its
    change token is the one the write commits, so the answers are keyed as a reader after
    the commit will look for them. Without this, the first poll after each write computes
    the view while the next write shares the machine (an events import: a batch every few
    hundred milliseconds, and /goals counts the events)."""
    done = []
    for poll in polls:
        view = poll.recipe(session)
        change = change_token(session, view.campaign_id, view.reads)
        etag = _etag(poll.key, change, view.clock)
        done.append(Precomputed(poll.key, change, view.clock, etag, view.compute()))
    return done


def install(precomputed: list[Precomputed]) -> None:
    """Memoize precomputed answers; the polls that asked for them are then answered from
    the memo (and by app.computed.remembered) as soon as the write is committed."""
    with _lock:
        for answer in precomputed:
            _memo[answer.etag] = _Answer(answer.body)
            _memo.move_to_end(answer.etag)
            entry = _remembered.get(answer.key)
            if entry is not None:
                asked = _asked[answer.key]
                fresh = replace(entry, change=answer.change, clock=answer.clock, etag=answer.etag)
                _keep(answer.key, fresh)
                _asked[answer.key] = asked  # precomputing is not asking
        while len(_memo) > MEMO_ENTRIES:
            _memo.popitem(last=False)
