import base64
import binascii
from typing import Annotated, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header, Request, Response
from pydantic import BaseModel, Field

from app.auth.grant import grant_client_credentials
from app.core.deps import ReadSessionDep, SettingsDep
from app.core.errors import BadRequest, InvalidClient
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.core.types import utc_now

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/auth", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the token expires")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRldi0xIn0...",
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    }


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("malformed HTTP Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed HTTP Basic credentials")
    return unquote(client_id), unquote(secret)


@router.post(
    "/token",
    summary="Exchange client credentials for an access token",
    description="OAuth2 client credentials grant (RFC 6749 section 4.4). Send the form fields "
    "`grant_type=client_credentials`, `client_id` and `client_secret` (or the id and secret as "
    "HTTP Basic credentials). The bearer token is short-lived: request a new one when it "
    "expires.",
    response_model=TokenResponse,
    responses=problem_responses(400, 401, 422, 429),
)
async def issue_token(
    request: Request,
    response: Response,
    session: ReadSessionDep,
    settings: SettingsDep,
    # Documented as the one value, checked here: RFC 6749 answers other grants with 400
    # unsupported_grant_type, not with a validation error.
    grant_type: Annotated[str, Form(json_schema_extra={"enum": ["client_credentials"]})],
    client_id: Annotated[
        str | None, Form(max_length=64, examples=["reporter-320100-1a2b3c4d"])
    ] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TokenResponse:
    if grant_type != "client_credentials":
        raise BadRequest(
            "only the client_credentials grant is supported",
            extra={"error": "unsupported_grant_type"},
        )
    basic = _basic_credentials(authorization)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise InvalidClient("client_id and client_secret are required")
    token = await grant_client_credentials(
        session,
        settings,
        request.app.state.sign_in_guard,
        client_id=client_id,
        client_secret=client_secret,
        address=request.client.host if request.client else "unknown",
        now=utc_now(),
    )
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(access_token=token, expires_in=settings.access_token_ttl_seconds)
