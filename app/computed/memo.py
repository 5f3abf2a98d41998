"""ETags and a small memo for computed views, keyed by the campaign's change counter.

A memoized answer keeps its gzip form beside it, made once on first demand: a dashboard
polling `/goals` costs no compression per request.
"""

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request, Response
from sqlmodel import Session

from app.core.changes import DOMAINS, change_token
from app.core.conditional import none_match

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


def _request_key(request: Request) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    return f"{request.url.path}|{query}"


def view_etag(request: Request, change: str, extra: str = "") -> str:
    key = f"{change}|{_request_key(request)}|{extra}"
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


_remembered: OrderedDict[str, Remembered] = OrderedDict()


def remembered(request: Request) -> Remembered | None:
    with _lock:
        return _remembered.get(_request_key(request))


def _remember(request: Request, view: PendingView, change: str, etag: str) -> None:
    entry = Remembered(
        view.campaign_id, view.reads, change, view.clock, etag, request.scope.get("route")
    )
    key = _request_key(request)
    with _lock:
        _remembered[key] = entry
        _remembered.move_to_end(key)
        while len(_remembered) > MEMO_ENTRIES:
            _remembered.popitem(last=False)


def cached_view(request: Request, session: Session, view: PendingView) -> Response:
    """304 when the client has the current answer; otherwise the memoized or freshly
    computed JSON body.

    The change token is read before any data, so a memo entry is never older than its key.
    The answer must be the same for every authenticated caller: it is served again to any.
    """
    change = change_token(session, view.campaign_id, view.reads)
    etag = view_etag(request, change, view.clock)
    answer = _memoized(etag)
    if answer is None and not _matches(request.headers.get("if-none-match"), etag):
        answer = _computed_once(etag, view.compute)
    _remember(request, view, change, etag)
    response = respond(request, etag, answer)
    assert response is not None  # an answer, or a 304 that needs none
    return response


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
