"""Client management and the client-credentials grant."""

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from app.auth.models import ApiClient, Role
from app.auth.secrets import hash_secret, new_secret, verify_secret
from app.auth.tokens import issue_access_token
from app.core.errors import FieldError, InvalidClient, InvalidInput, NotFound
from app.core.settings import Settings
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
    return client


def active_client(session: Session, client_id: str) -> ApiClient | None:
    client = session.get(ApiClient, client_id)
    return client if client is not None and client.disabled_at is None else None


def grant_client_credentials(
    session: Session, settings: Settings, *, client_id: str, client_secret: str, now: datetime
) -> str:
    client = session.get(ApiClient, client_id)
    if not verify_secret(client.secret_hash if client else None, client_secret) or client is None:
        raise InvalidClient("unknown client or wrong secret")
    if client.disabled_at is not None:
        raise InvalidClient("this client is disabled")
    return issue_access_token(
        settings, client_id=client.id, role=client.role, city=client.city_code, now=now
    )
