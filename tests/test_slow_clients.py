"""Slow and lying clients against a live server (issue 11): a body that stops arriving gets
408, a body shorter than its declared length stores nothing, and the server stays healthy."""

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.attachments.models import Attachment
from app.auth.models import Role
from app.core.settings import Settings
from app.main import create_app
from app.reporting.models import SnapshotRevision
from tests.live import committed_token, serve_in_thread
from tests.records_helpers import case_body
from tests.samples import png

CAMPAIGN = "/api/v1/campaigns/js-2024"
CITY = "320100"
IDLE_SECONDS = 1.0


@pytest.fixture
def server(live_settings: Settings, live_engine: Engine) -> Iterator[str]:
    settings = live_settings.model_copy(update={"body_idle_timeout_seconds": IDLE_SECONDS})
    with serve_in_thread(create_app(settings, live_engine)) as base:
        yield base


@pytest.fixture
def reporter(live_settings: Settings, live_engine: Engine) -> str:
    return committed_token(live_settings, live_engine, Role.reporter, CITY)


def raw_request(base: str, head: str, body: bytes, *, close_after: bool = False) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head.encode() + b"\r\n" + body)
        if close_after:
            connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and not close_after:
                break
        return b"".join(chunks)


def count(engine: Engine, model: type[SnapshotRevision] | type[Attachment]) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_a_body_that_stops_arriving_gets_408_and_stores_nothing(
    server: str, reporter: str, live_engine: Engine
) -> None:
    before = count(live_engine, SnapshotRevision)
    started = time.monotonic()
    answer = raw_request(
        server,
        f"PUT {CAMPAIGN}/cities/{CITY}/tables/t1/periods/W04 HTTP/1.1\r\n"
        f"Host: test\r\nAuthorization: {reporter}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n",
        b'{"values"',
    )
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"application/problem+json" in answer
    assert IDLE_SECONDS <= elapsed < IDLE_SECONDS + 5
    assert count(live_engine, SnapshotRevision) == before
    assert httpx.get(f"{server}/healthz").status_code == 200


def test_an_upload_shorter_than_its_declared_length_stores_nothing(
    server: str, reporter: str, live_engine: Engine
) -> None:
    case = httpx.post(
        f"{server}{CAMPAIGN}/cities/{CITY}/cases",
        json=case_body(),
        headers={"Authorization": reporter},
    )
    assert case.status_code == 201, case.text
    boundary = "sb-boundary"
    picture = png()
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + picture
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST {CAMPAIGN}/cities/{CITY}/cases/{case.json()['id']}/attachments HTTP/1.1\r\n"
        f"Host: test\r\nAuthorization: {reporter}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        "Content-Length: 100000\r\n"
    )
    waited = raw_request(server, head, body)  # the client stays, silent
    assert waited.startswith(b"HTTP/1.1 408"), waited[:200]
    raw_request(server, head, body, close_after=True)  # the client goes away
    time.sleep(0.5)
    assert count(live_engine, Attachment) == 0
    assert httpx.get(f"{server}/healthz").status_code == 200
