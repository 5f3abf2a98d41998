"""Who is calling, and may they? Every protected route depends on one of these."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from app.auth.models import Role
from app.auth.service import active_client, recently_active_client
from app.auth.tokens import decode_access_token
from app.core.deps import ReadSessionDep, SettingsDep, short_read
from app.core.errors import FieldError, Forbidden, Unauthorized
from app.core.types import utc_now

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 (a URL, not a secret)

oauth2_client_credentials = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL)),
    scheme_name="clientCredentials",
    description="OAuth2 client credentials: exchange client_id and client_secret for a bearer "
    "token at " + TOKEN_URL,
    auto_error=False,
)


# The checks below are `async` because they do no I/O: FastAPI then runs them on the event
# loop instead of paying a thread hop each. get_principal asks the database, in a worker
# thread, only when it has not seen the client active in the last few seconds.


@dataclass(frozen=True)
class Principal:
    client_id: str
    role: Role
    city: str | None


async def get_principal(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Depends(oauth2_client_credentials)],
) -> Principal:
    if not authorization:
        raise Unauthorized("a bearer access token is required", oauth_error=None)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "the Authorization header must be 'Bearer <token>'", oauth_error="invalid_request"
        )
    claims = decode_access_token(settings, token.strip())
    client = recently_active_client(claims.client_id) or await short_read(
        session, lambda s: active_client(s, claims.client_id)
    )
    if client is None:
        raise Unauthorized("the client of this token is unknown or disabled")
    request.state.client_id = client.id
    return Principal(client_id=client.id, role=client.role, city=client.city_code)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if principal.role is not Role.admin:
        raise Forbidden(
            f"this needs the admin role; client {principal.client_id!r} is a {principal.role.value}"
        )
    return principal


async def require_province_reader(principal: PrincipalDep) -> Principal:
    """Viewers, reviewers and admins: province-wide raw views that cities do not get."""
    if principal.role is Role.reporter:
        raise Forbidden("this province-wide view is for viewers and administrators")
    return principal


REVIEWING_ROLES = frozenset({Role.reviewer, Role.admin})


async def require_reviewer(principal: PrincipalDep) -> Principal:
    """Reviewers and admins: approve, return and reopen submissions, adopt cases."""
    if principal.role not in REVIEWING_ROLES:
        raise Forbidden(
            "this needs the reviewer or admin role; "
            f"client {principal.client_id!r} is a {principal.role.value}"
        )
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
ProvinceReaderDep = Annotated[Principal, Depends(require_province_reader)]
ReviewerDep = Annotated[Principal, Depends(require_reviewer)]

CityCode = Annotated[
    str, Path(pattern=r"^\d{6}$", description="6-digit city code", examples=["320100"])
]


@dataclass(frozen=True)
class CityAccess:
    principal: Principal
    city: str


def check_city(principal: Principal, city: str, *, write: bool) -> None:
    """A reporter touches only its own city; viewers and reviewers read every city (reviewers
    judge through the review routes, never by writing a city's records); admins do anything."""
    if principal.role is Role.admin:
        return
    if principal.role is Role.reporter:
        if principal.city != city:
            raise Forbidden(
                f"client {principal.client_id!r} reports for {principal.city} "
                f"and may not touch {city}"
            )
        return
    if write:
        raise Forbidden(
            f"{principal.role.value}s read; only the city itself or an administrator writes"
        )


async def city_reader(city: CityCode, principal: PrincipalDep) -> CityAccess:
    check_city(principal, city, write=False)
    return CityAccess(principal, city)


async def city_writer(city: CityCode, principal: PrincipalDep) -> CityAccess:
    check_city(principal, city, write=True)
    return CityAccess(principal, city)


CityReaderDep = Annotated[CityAccess, Depends(city_reader)]
CityWriterDep = Annotated[CityAccess, Depends(city_writer)]


def receipt_time(principal: Principal, claimed: datetime | None) -> tuple[datetime, bool]:
    """When a write counts as received: the server's clock, except for an administrator
    loading a past season, whose claimed time is kept and marked backdated."""
    if claimed is None:
        return utc_now(), False
    if principal.role is not Role.admin:
        raise Forbidden(
            "only administrators may set received_at",
            errors=[FieldError("received_at", "not_allowed", "the server records receipt time")],
        )
    return claimed, True
