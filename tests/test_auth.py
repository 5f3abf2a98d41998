"""Client credentials, JWT validation, roles and city scoping."""

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from app.auth.tokens import decode_access_token
from app.core.errors import Unauthorized
from app.core.settings import Settings

Auth = Callable[..., dict[str, str]]
NewClient = Callable[..., tuple[str, str]]
CITY_ROUTE = "/api/v1/campaigns/js-2024/cities/{city}"


def token(client: TestClient, client_id: str, secret: str) -> Any:
    return client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def test_client_credentials_give_a_working_bearer_token(
    client: TestClient, new_client: NewClient
) -> None:
    client_id, secret = new_client("reporter", "320100")
    response = token(client, client_id, secret)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get(CITY_ROUTE.format(city="320100"), headers=headers).status_code == 200


def test_http_basic_client_authentication(client: TestClient, new_client: NewClient) -> None:
    client_id, secret = new_client("viewer")
    response = client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200


@pytest.mark.parametrize("bad", ["wrong-secret", ""])
def test_a_wrong_secret_is_invalid_client(
    client: TestClient, new_client: NewClient, bad: str
) -> None:
    client_id, _ = new_client("viewer")
    response = token(client, client_id, bad)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["content-type"] == "application/problem+json"
    assert token(client, "nobody", "whatever").status_code == 401


@pytest.mark.parametrize("impossible", ["\x00\U000c146d", "南京", "a b", "x" * 64 + "y"])
def test_an_id_no_client_can_have_is_invalid_client(client: TestClient, impossible: str) -> None:
    """Found by the fuzzer: a NUL in client_id was a 500 on PostgreSQL."""
    response = token(client, impossible, "whatever")
    assert response.status_code in (401, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unsupported_grant_is_refused(client: TestClient, new_client: NewClient) -> None:
    client_id, secret = new_client("viewer")
    response = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 400  # RFC 6749 5.2
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_reporter_is_confined_to_its_city(client: TestClient, auth: Auth) -> None:
    nanjing = auth("reporter", "320100")
    refused = client.get(CITY_ROUTE.format(city="320200"), headers=nanjing)
    assert refused.status_code == 403
    assert "320200" in refused.json()["detail"]
    assert client.get(CITY_ROUTE.format(city="320100"), headers=nanjing).status_code == 200
    viewer = auth("viewer")
    assert client.get(CITY_ROUTE.format(city="320200"), headers=viewer).status_code == 200
    admin = auth("admin")
    assert client.get(CITY_ROUTE.format(city="321300"), headers=admin).status_code == 200
    assert client.get(CITY_ROUTE.format(city="320102"), headers=admin).status_code == 404


def test_a_disabled_clients_tokens_stop_working(
    client: TestClient, new_client: NewClient, session: Any
) -> None:
    from app.auth.service import disable_client

    client_id, secret = new_client("viewer")
    headers = {"Authorization": f"Bearer {token(client, client_id, secret).json()['access_token']}"}
    assert client.get(CITY_ROUTE.format(city="320100"), headers=headers).status_code == 200
    disable_client(session, client_id)
    session.commit()
    assert client.get(CITY_ROUTE.format(city="320100"), headers=headers).status_code == 401
    assert token(client, client_id, secret).status_code == 401


def test_a_client_disabled_by_another_process_is_refused_once_the_ttl_passes(
    client: TestClient, new_client: NewClient, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update
    from sqlmodel import col

    from app.auth import service
    from app.auth.models import ApiClient
    from app.core.types import utc_now

    client_id, secret = new_client("viewer")
    headers = {"Authorization": f"Bearer {token(client, client_id, secret).json()['access_token']}"}
    assert client.get(CITY_ROUTE.format(city="320100"), headers=headers).status_code == 200
    # As the CLI would, from a process whose memory this one cannot see.
    session.execute(
        update(ApiClient).where(col(ApiClient.id) == client_id).values(disabled_at=utc_now())
    )
    session.commit()
    assert client.get(CITY_ROUTE.format(city="320100"), headers=headers).status_code == 200
    monkeypatch.setattr(service, "ACTIVE_CLIENT_TTL_SECONDS", 0.0)  # the TTL has passed
    assert client.get(CITY_ROUTE.format(city="320100"), headers=headers).status_code == 401


def forge(
    settings: Settings,
    claims: dict[str, Any],
    *,
    key_id: str = "test-2",
    algorithm: str = "HS256",
    key: str | None = None,
) -> str:
    return jwt.encode(
        claims,
        key or settings.jwt_signing_keys[key_id],
        algorithm=algorithm,
        headers={"kid": key_id},
    )


def good_claims(settings: Settings, client_id: str) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": client_id,
        "iat": now,
        "exp": now + 300,
        "role": "viewer",
        "city": None,
    }


def unsigned(claims: dict[str, Any]) -> str:
    import base64
    import json

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'test-2'})}.{part(claims)}."


@pytest.mark.parametrize(
    "case",
    [
        "alg_none",
        "wrong_audience",
        "no_audience",
        "expired",
        "no_exp",
        "no_iat",
        "no_sub",
        "wrong_issuer",
        "unknown_kid",
        "wrong_key",
        "garbage",
        "unknown_client",
    ],
)
def test_bad_tokens_get_401_with_a_challenge(
    client: TestClient, settings: Settings, new_client: NewClient, case: str
) -> None:
    client_id, _ = new_client("viewer")
    claims = good_claims(settings, client_id)
    tokens: dict[str, Callable[[], str]] = {
        "alg_none": lambda: unsigned(claims),
        "wrong_audience": lambda: forge(settings, claims | {"aud": "someone-else"}),
        "no_audience": lambda: forge(settings, {k: v for k, v in claims.items() if k != "aud"}),
        "expired": lambda: forge(
            settings, claims | {"iat": claims["iat"] - 1000, "exp": claims["iat"] - 10}
        ),
        "no_exp": lambda: forge(settings, {k: v for k, v in claims.items() if k != "exp"}),
        "no_iat": lambda: forge(settings, {k: v for k, v in claims.items() if k != "iat"}),
        "no_sub": lambda: forge(settings, {k: v for k, v in claims.items() if k != "sub"}),
        "wrong_issuer": lambda: forge(settings, claims | {"iss": "evil"}),
        "unknown_kid": lambda: forge(settings, claims, key_id="nope", key="z" * 40),
        "wrong_key": lambda: forge(settings, claims, key="z" * 40),
        "garbage": lambda: "not.a.jwt",
        "unknown_client": lambda: forge(settings, claims | {"sub": "ghost"}),
    }
    response = client.get(
        CITY_ROUTE.format(city="320100"), headers={"Authorization": f"Bearer {tokens[case]()}"}
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_token"


def test_a_token_from_the_previous_key_still_verifies(
    client: TestClient, settings: Settings, new_client: NewClient
) -> None:
    client_id, _ = new_client("viewer")
    old = forge(settings, good_claims(settings, client_id), key_id="test-1")
    response = client.get(
        CITY_ROUTE.format(city="320100"), headers={"Authorization": f"Bearer {old}"}
    )
    assert response.status_code == 200


def test_missing_or_malformed_authorization(client: TestClient) -> None:
    missing = client.get(CITY_ROUTE.format(city="320100"))
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="spring-breeze"'
    basic = client.get(CITY_ROUTE.format(city="320100"), headers={"Authorization": "Basic eA=="})
    assert basic.status_code == 401


def test_a_remembered_token_is_refused_once_its_key_is_retired_or_it_expires(
    settings: Settings,
) -> None:
    """Verified tokens are remembered (a polling dashboard sends the same one each time);
    the memory never outlives the key that signed it or the token's own expiry."""
    claims = good_claims(settings, "viewer-remembered")
    token = forge(settings, claims | {"exp": claims["iat"] + 2})
    for _ in range(2):  # verified, then remembered
        assert decode_access_token(settings, token).client_id == "viewer-remembered"
    retired = settings.model_copy(
        update={"jwt_signing_keys": {"test-1": settings.jwt_signing_keys["test-1"]}}
    )
    with pytest.raises(Unauthorized):
        decode_access_token(retired, token)
    time.sleep(3.1)
    with pytest.raises(Unauthorized):
        decode_access_token(settings, token)
