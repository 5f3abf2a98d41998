"""Brute force on the token endpoint (issue 11): lockouts per client id and per address,
doubling, logged, 429 with Retry-After; the right secret waits out the lockout too."""

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.auth.throttle import Throttle

TOKEN = "/api/v1/auth/token"
NewClient = Callable[..., tuple[str, str]]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lockouts_double_and_end() -> None:
    clock = Clock()
    throttle = Throttle(free=2, base_seconds=1, max_seconds=8, clock=clock)
    assert [throttle.failed("k") for _ in range(2)] == [None, None]
    assert throttle.retry_after("k") is None
    assert throttle.failed("k") == 1
    assert throttle.retry_after("k") == 1
    assert [throttle.failed("k") for _ in range(4)] == [2, 4, 8, 8]  # capped
    clock.now += 8
    assert throttle.retry_after("k") is None
    throttle.succeeded("k")
    assert throttle.failed("k") is None  # a success starts the count again
    assert throttle.retry_after("other") is None


def sign_in(client: TestClient, client_id: str, secret: str) -> int:
    response = client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    status: int = response.status_code
    return status


def test_wrong_secrets_lock_the_client_out(
    client: TestClient, new_client: NewClient, caplog: pytest.LogCaptureFixture
) -> None:
    client_id, secret = new_client("reporter", "320100")
    other_id, other_secret = new_client("reporter", "320200")
    with caplog.at_level(logging.WARNING, logger="app.auth"):
        statuses = [sign_in(client, client_id, "wrong-secret") for _ in range(6)]
    assert statuses == [401] * 6
    locked = client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert locked.headers["content-type"] == "application/problem+json"
    assert any(r.message == "token endpoint lockout" for r in caplog.records)
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert sign_in(client, other_id, other_secret) == 200  # others are not locked out


def test_many_client_ids_from_one_address_lock_the_address_out(
    client: TestClient, new_client: NewClient
) -> None:
    statuses = [sign_in(client, f"guess-{n}", "x") for n in range(22)]
    assert statuses[:21] == [401] * 21
    assert statuses[21] == 429
    client_id, secret = new_client("viewer")
    assert sign_in(client, client_id, secret) == 429  # the address waits, whoever it is
