"""JWT access tokens. The only module that touches python-jose.

python-jose does not insist on registered claims, so every decode names its algorithms and
requires `exp`, `iat`, `iss`, `aud` and `sub`; the key id selects the verification key.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import JWTError, jwt

from app.auth.models import Role
from app.core.errors import Unauthorized
from app.core.settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")


@dataclass(frozen=True)
class AccessClaims:
    client_id: str
    role: Role
    city: str | None
    issued_at: datetime


def issue_access_token(
    settings: Settings, *, client_id: str, role: Role, city: str | None, now: datetime
) -> str:
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": client_id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.access_token_ttl_seconds)).timestamp()),
        "role": role.value,
        "city": city,
    }
    key_id = settings.jwt_active_key_id
    return jwt.encode(
        claims, settings.jwt_signing_keys[key_id], algorithm=ALGORITHM, headers={"kid": key_id}
    )


@dataclass(frozen=True)
class _Verified:
    """A token whose signature and claims were verified once, and what they were verified
    against: reused only while that is still what the settings say and it has not expired."""

    claims: AccessClaims
    expires: int
    key_id: str
    key: str
    audience: str
    issuer: str


# A dashboard sends the same token on every poll: its signature (HMAC, JSON, base64: ~100 µs
# in python-jose) is checked once, not per request. Bounded; the oldest are forgotten first.
_VERIFIED_TOKENS = 4096
_verified: OrderedDict[str, _Verified] = OrderedDict()
_verified_lock = threading.Lock()


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    with _verified_lock:
        known = _verified.get(token)
    if known is not None and _still_valid(settings, known):
        return known.claims
    claims, expires, key_id = _verify(settings, token)
    with _verified_lock:
        _verified[token] = _Verified(
            claims,
            expires,
            key_id,
            settings.jwt_signing_keys[key_id],
            settings.jwt_audience,
            settings.jwt_issuer,
        )
        while len(_verified) > _VERIFIED_TOKENS:
            _verified.popitem(last=False)
    return claims


def _still_valid(settings: Settings, known: _Verified) -> bool:
    return (
        time.time() < known.expires
        and settings.jwt_signing_keys.get(known.key_id) == known.key
        and (settings.jwt_audience, settings.jwt_issuer) == (known.audience, known.issuer)
    )


def _verify(settings: Settings, token: str) -> tuple[AccessClaims, int, str]:
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise Unauthorized("the access token is malformed") from exc
    key_id = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(key_id, str):
        raise Unauthorized("the access token has an unexpected algorithm or no key id")
    key = settings.jwt_signing_keys.get(key_id)
    if key is None:
        raise Unauthorized("the access token was signed with an unknown key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={f"require_{claim}": True for claim in REQUIRED_CLAIMS}
            | {"verify_aud": True, "verify_iss": True, "verify_exp": True, "verify_iat": True},
        )
    except JWTError as exc:
        raise Unauthorized(f"the access token is not valid: {exc}") from exc
    try:
        verified = AccessClaims(
            client_id=str(claims["sub"]),
            role=Role(claims["role"]),
            city=claims.get("city"),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
        )
        return verified, int(claims["exp"]), key_id
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthorized("the access token lacks a valid role") from exc
