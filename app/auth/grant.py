"""The client-credentials grant, guarded against brute force: failed attempts lock the
client id and the source address out for a doubling while (429 + Retry-After, logged), at
most a few secrets are verified at once per process (Argon2 costs 0.3 s of CPU and tens of
MB each), and no database transaction is open while one is."""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

import anyio
import anyio.to_thread
from sqlmodel import Session

from app.auth.models import ApiClient
from app.auth.secrets import verify_secret
from app.auth.throttle import Throttle
from app.auth.tokens import issue_access_token
from app.core.deps import short_read
from app.core.errors import InvalidClient, ServiceUnavailable, TooManyRequests
from app.core.limiters import per_event_loop
from app.core.settings import Settings

logger = logging.getLogger("app.auth")

VERIFYING_AT_ONCE = 2
VERIFY_WAIT_SECONDS = 5.0
_verifiers = per_event_loop("secret-verifiers", VERIFYING_AT_ONCE)


@dataclass(frozen=True)
class SignInGuard:
    """A client id gets 5 wrong secrets in a row, an address 20 (several clients behind one
    city gateway), before each further failure locks it out for 1, 2, 4 … s, at most 15 min.
    One per app (process)."""

    by_client: Throttle = field(default_factory=lambda: Throttle(free=5))
    by_address: Throttle = field(default_factory=lambda: Throttle(free=20))


def _check_not_locked(guard: SignInGuard, client_id: str, address: str) -> None:
    for throttle, key in ((guard.by_client, client_id), (guard.by_address, address)):
        wait = throttle.retry_after(key)
        if wait is not None:
            raise TooManyRequests(
                f"too many failed attempts; try again in {wait} s", retry_after_seconds=wait
            )


def _count_failure(guard: SignInGuard, client_id: str, address: str) -> None:
    for throttle, kind, key in (
        (guard.by_client, "client", client_id),
        (guard.by_address, "address", address),
    ):
        locked = throttle.failed(key)
        if locked is not None:
            logger.warning(
                "token endpoint lockout",
                extra={
                    "lockout": kind,
                    "client_id": client_id[:64],
                    "address": address,
                    "seconds": locked,
                },
            )


_POSSIBLE_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


async def _verify(secret_hash: str | None, secret: str) -> bool:
    try:
        with anyio.fail_after(VERIFY_WAIT_SECONDS):
            return await anyio.to_thread.run_sync(
                verify_secret, secret_hash, secret, limiter=_verifiers()
            )
    except TimeoutError:
        raise ServiceUnavailable("too many sign-ins at once; retry shortly") from None


async def grant_client_credentials(
    session: Session,
    settings: Settings,
    guard: SignInGuard,
    *,
    client_id: str,
    client_secret: str,
    address: str,
    now: datetime,
) -> str:
    _check_not_locked(guard, client_id, address)
    # An id no client can have is not looked up (PostgreSQL refuses a NUL in text); the
    # secret is still verified against nothing, so the answer takes as long as any.
    client = (
        await short_read(session, lambda s: s.get(ApiClient, client_id))
        if _POSSIBLE_CLIENT_ID.fullmatch(client_id)
        else None
    )
    if not await _verify(client.secret_hash if client else None, client_secret):
        _count_failure(guard, client_id, address)
        raise InvalidClient("unknown client or wrong secret")
    assert client is not None
    guard.by_client.succeeded(client_id)
    if client.disabled_at is not None:
        raise InvalidClient("this client is disabled")
    return issue_access_token(
        settings, client_id=client.id, role=client.role, city=client.city_code, now=now
    )
