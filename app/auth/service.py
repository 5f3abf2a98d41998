"""Client management and the client-credentials grant."""

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.auth.models import ApiClient, Role
from app.auth.secrets import hash_secret, new_secret
from app.core.errors import FieldError, InvalidInput, NotFound
from app.core.types import utc_now
from app.regions.models import Region, RegionLevel


def create_client(
    session: Session, *, name: str, role: Role, city: str | None
) -> tuple[ApiClient, str]:
    """Returns the client and its secret; the secret is not stored and cannot be shown again."""
    if role is Role.reporter:
        region = session.get(Region, city) if city else None
        if region is None or region.level is not RegionLevel.city:
            raise InvalidInput(
                "a reporter is bound to one city",
                errors=[FieldError("city", "invalid_city", f"{city!r} is not a city code")],
            )
    elif city is not None:
        raise InvalidInput(
            f"a {role.value} reads every city and is not bound to one",
            errors=[FieldError("city", "not_allowed", "only reporters have a city")],
        )
    if not name.strip():
        raise InvalidInput("name is empty", errors=[FieldError("name", "empty", "give a name")])
    secret = new_secret()
    client = ApiClient(
        id=f"{role.value}-{city or 'province'}-{secrets.token_hex(4)}",
        name=name.strip(),
        role=role,
        city_code=city,
        secret_hash=hash_secret(secret),
    )
    session.add(client)
    session.flush()
    return client, secret


# An active client is trusted for this long without asking the database again, so an
# authenticated request costs no query. A client disabled by another process (the CLI) is
# therefore still accepted for up to this long; one disabled in this process is refused at once.
ACTIVE_CLIENT_TTL_SECONDS = 5.0
_MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class ActiveClient:
    id: str
    role: Role
    city_code: str | None


# client id -> (the client, monotonic time the database last said it was active)
_recently_active: dict[str, tuple[ActiveClient, float]] = {}


def recently_active_client(client_id: str) -> ActiveClient | None:
    """The client if the database said it was active less than the TTL ago; no I/O."""
    remembered = _recently_active.get(client_id)
    if remembered is None or time.monotonic() - remembered[1] >= ACTIVE_CLIENT_TTL_SECONDS:
        return None
    return remembered[0]


def forget_client(client_id: str) -> None:
    _recently_active.pop(client_id, None)


def list_clients(session: Session) -> Sequence[ApiClient]:
    return session.exec(select(ApiClient).order_by(col(ApiClient.created_at))).all()


def disable_client(session: Session, client_id: str) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    if client.disabled_at is None:
        client.disabled_at = utc_now()
        session.add(client)
        session.flush()
    forget_client(client_id)
    return client


def active_client(session: Session, client_id: str) -> ActiveClient | None:
    client = session.get(ApiClient, client_id)
    if client is None or client.disabled_at is not None:
        forget_client(client_id)
        return None
    active = ActiveClient(client.id, client.role, client.city_code)
    if len(_recently_active) >= _MAX_REMEMBERED:
        _recently_active.clear()
    _recently_active[client_id] = (active, time.monotonic())
    return active
