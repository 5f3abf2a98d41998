"""Conditional requests (RFC 9110 §13): the one parser of entity-tag lists, for If-Match on
writes and If-None-Match on reads."""

import hashlib
import re

from fastapi import Request, Response
from pydantic import BaseModel

from app.core.errors import PreconditionFailed

# An entity-tag may hold a comma, so a list is read tag by tag, not split on commas.
_TAG = re.compile(r'\s*(?:(W/)?("[^"]*")|(\*))\s*(?:,|$)')


def entity_tags(header: str | None) -> frozenset[str]:
    """The opaque tags of an If-Match / If-None-Match value, weakness dropped (`*` kept);
    an unparseable value names no tag."""
    if not header:
        return frozenset()
    tags = []
    position = 0
    while position < len(header):
        match = _TAG.match(header, position)
        if match is None or match.end() == position:
            return frozenset()
        tags.append(match[2] or match[3])
        position = match.end()
    return frozenset(tags)


def none_match(header: str | None, *current: str) -> bool:
    """If-None-Match names one of the current representation's tags (answer 304)."""
    tags = entity_tags(header)
    return "*" in tags or any(tag in tags for tag in current)


def require_match(header: str | None, current: str | None, what: str) -> None:
    """412 unless If-Match (when sent) names the current version `current` (None: there is
    none yet, which no tag but nothing matches)."""
    if header is None:
        return
    tags = entity_tags(header)
    if current is not None and ("*" in tags or current in tags):
        return
    shown = current or "none (nothing submitted yet)"
    raise PreconditionFailed(
        f"If-Match does not match the current {what} (current ETag: {shown}); read it again "
        "and reapply your change",
        extra={"current_etag": current},
    )


def conditional_json(request: Request, answer: BaseModel) -> Response:
    """The answer as JSON with an ETag of its bytes, or 304 when If-None-Match names it:
    for lists whose freshness no change counter tracks; the answer is computed either way,
    the bytes are not sent twice."""
    body = answer.model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
