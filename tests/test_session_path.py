"""The production unit of work (issue 15 item 10): most API tests replace the session
dependency with a rolled-back one; these go through the real one — commit when the handler
succeeds, roll back when it fails, and a commit that fails becomes a clean problem response
with nothing stored."""

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.auth.models import Role
from app.auth.service import create_client
from app.auth.tokens import issue_access_token
from app.cases import service
from app.core.db import session_scope
from app.core.settings import Settings
from app.core.types import utc_now
from app.main import create_app
from tests.records_helpers import NANJING, case_body, city_url

PROBLEM = "application/problem+json"
SQLiteError = sqlite3.OperationalError


@pytest.fixture
def client(live_settings: Settings, live_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(live_settings, live_engine)) as test_client:
        yield test_client


@pytest.fixture
def nanjing(live_settings: Settings, live_engine: Engine) -> dict[str, str]:
    for session in session_scope(live_engine):
        created, _ = create_client(session, name="南京", role=Role.reporter, city=NANJING)
        client_id = created.id
    token = issue_access_token(
        live_settings, client_id=client_id, role=Role.reporter, city=NANJING, now=utc_now()
    )
    return {"Authorization": f"Bearer {token}"}


def count_cases(client: TestClient, headers: dict[str, str], title: str) -> int:
    listed = client.get(city_url(NANJING, "cases"), params={"limit": 500}, headers=headers)
    return sum(1 for case in listed.json()["items"] if case["title"] == title)


def test_a_write_is_committed_and_a_refused_one_rolled_back(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    created = client.post(
        city_url(NANJING, "cases"), json=case_body(title="提交即保存"), headers=nanjing
    )
    assert created.status_code == 201, created.text
    assert count_cases(client, nanjing, "提交即保存") == 1
    refused = client.post(
        city_url(NANJING, "cases"),
        json=case_body(title="不应保存", county="320506"),  # a county of Suzhou
        headers=nanjing,
    )
    assert refused.status_code == 422
    assert count_cases(client, nanjing, "不应保存") == 0


def failing_commits(monkeypatch: pytest.MonkeyPatch, error: Callable[[], Exception]) -> None:
    """The commit of every transaction that created a case fails (the database went away at
    that moment)."""
    create, commit = service.create_case, Session.commit

    def creating(session: Session, *args: Any, **kwargs: Any) -> Any:
        session.info["doomed"] = True
        return create(session, *args, **kwargs)

    def committing(self: Session) -> None:
        if self.info.pop("doomed", False):
            raise error()
        commit(self)

    monkeypatch.setattr(service, "create_case", creating)
    monkeypatch.setattr(Session, "commit", committing)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (lambda: OperationalError("COMMIT", {}, Exception("server closed the connection")), 503),
        (
            lambda: OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked")),
            503,
        ),
        # A database not migrated to this code: "retry shortly" would never come true.
        (
            lambda: OperationalError("SELECT", {}, sqlite3.OperationalError("no such column: x")),
            500,
        ),
        (lambda: RuntimeError("disk full"), 500),
    ],
    ids=["connection lost", "sqlite locked", "sqlite schema", "other"],
)
def test_a_failed_commit_is_a_clean_problem_and_stores_nothing(
    client: TestClient,
    nanjing: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    error: Callable[[], Exception],
    status: int,
) -> None:
    title = f"提交失败{status}{len(str(error()))}"
    with monkeypatch.context() as patch:
        failing_commits(patch, error)
        answer = client.post(
            city_url(NANJING, "cases"), json=case_body(title=title), headers=nanjing
        )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["request_id"] == answer.headers["x-request-id"]
    if status == 503:
        assert answer.headers["retry-after"]
    assert count_cases(client, nanjing, title) == 0
