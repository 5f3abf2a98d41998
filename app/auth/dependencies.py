"""Who is calling, and may they? Every protected route depends on one of these. The rules
themselves are `app.auth.policy`'s; this module reads the request and applies them."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from app.auth.policy import (
    CityAccess,
    Principal,
    check_admin,
    check_city,
    check_province_reader,
    check_reviewer,
)
from app.auth.service import ActiveClient, active_client, recently_active_client
from app.auth.tokens import decode_access_token
from app.core.deps import SettingsDep, read_apart
from app.core.errors import Unauthorized
from app.core.params import CityCode
from app.core.settings import Settings

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


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("a bearer access token is required", oauth_error=None)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "the Authorization header must be 'Bearer <token>'", oauth_error="invalid_request"
        )
    return token.strip()


def _principal(client: ActiveClient) -> Principal:
    return Principal(client_id=client.id, role=client.role, city=client.city_code)


def known_principal(settings: Settings, authorization: str | None) -> Principal | None:
    """The caller, when its token is valid and its client was seen active moments ago: no
    I/O. None when finding out needs the database, or the answer is a refusal (the route
    then asks, and refuses with the reason)."""
    try:
        claims = decode_access_token(settings, _bearer_token(authorization))
    except Unauthorized:
        return None
    client = recently_active_client(claims.client_id)
    return None if client is None else _principal(client)


async def get_principal(
    request: Request,
    settings: SettingsDep,
    authorization: Annotated[str | None, Depends(oauth2_client_credentials)],
) -> Principal:
    claims = decode_access_token(settings, _bearer_token(authorization))
    client = recently_active_client(claims.client_id) or await read_apart(
        request, lambda s: active_client(s, claims.client_id)
    )
    if client is None:
        raise Unauthorized("the client of this token is unknown or disabled")
    request.state.client_id = client.id
    return _principal(client)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    check_admin(principal)
    return principal


async def require_province_reader(principal: PrincipalDep) -> Principal:
    """Viewers, reviewers and admins: province-wide raw views that cities do not get."""
    check_province_reader(principal)
    return principal


async def require_reviewer(principal: PrincipalDep) -> Principal:
    """Reviewers and admins: approve, return and reopen submissions, adopt cases."""
    check_reviewer(principal)
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
ProvinceReaderDep = Annotated[Principal, Depends(require_province_reader)]
ReviewerDep = Annotated[Principal, Depends(require_reviewer)]


async def city_reader(city: CityCode, principal: PrincipalDep) -> CityAccess:
    check_city(principal, city, write=False)
    return CityAccess(principal, city)


async def city_writer(city: CityCode, principal: PrincipalDep) -> CityAccess:
    check_city(principal, city, write=True)
    return CityAccess(principal, city)


CityReaderDep = Annotated[CityAccess, Depends(city_reader)]
CityWriterDep = Annotated[CityAccess, Depends(city_writer)]
