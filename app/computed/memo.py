"""ETags and a small memo for computed views, keyed by the campaign's change counter."""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request, Response
from sqlmodel import Session

from app.core.changes import change_token

MEMO_ENTRIES = 256

_memo: OrderedDict[str, bytes] = OrderedDict()
_lock = threading.Lock()


def clear() -> None:
    """Forget every memoized answer (benchmarks; tests, whose rolled-back databases reuse
    change-counter values)."""
    with _lock:
        _memo.clear()


def view_etag(request: Request, change: str, extra: str = "") -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    key = f"{change}|{request.url.path}|{query}|{extra}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def cached_view(
    request: Request,
    session: Session,
    campaign_id: str,
    compute: Callable[[], bytes],
    *,
    extra: str = "",
) -> Response:
    """304 when the client has the current answer; otherwise the memoized or freshly
    computed JSON body.

    The change token is read before any data, so a memo entry is never older than its key.
    """
    etag = view_etag(request, change_token(session, campaign_id), extra)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    with _lock:
        body = _memo.get(etag)
        if body is not None:
            _memo.move_to_end(etag)
    if body is None:
        body = compute()
        with _lock:
            _memo[etag] = body
            while len(_memo) > MEMO_ENTRIES:
                _memo.popitem(last=False)
    return Response(body, media_type="application/json", headers=headers)
