"""Every write changes the ETag of every computed view it affects (issue 15, item 5).

The computed views answer 304 and serve memoized bodies while the campaign's change counter
stands still, so a write that does not move it leaves dashboards on stale figures. Each
write operation of the OpenAPI document is listed here with the views it affects; a new
write operation fails `test_every_write_operation_is_listed` until it is added.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, bindparam, event, update
from sqlmodel import Session, col, select

from app.cases.models import HighlightCase
from app.computed import answers
from app.computed.memo import PendingView
from app.core.changes import (
    DOMAINS,
    LOCK_ONLY,
    RECORDS,
    change_token,
    data_version,
    mark_written,
    read_change_token,
    table_domain,
)
from app.core.db import create_probe_engine, create_read_engine, session_scope
from app.outbox.models import OutboxEvent
from app.webhooks.models import WebhookDelivery
from tests.records_helpers import (
    CAMPAIGN,
    CONTACT,
    DOCUMENT,
    NANJING,
    case_body,
    city_url,
    event_body,
    recruitment_event,
)
from tests.samples import png

Auth = Callable[..., dict[str, str]]
CAMPAIGN_ID = "js-2024"
VIEWS = {
    "deltas": {},
    "totals": {"period": "W03"},
    "goals": {"at": "2024-03-01T12:00:00+08:00"},
    "compliance": {"at": "2024-03-01T12:00:00+08:00"},
    "quality": {},
}
TABLE_VIEWS = frozenset({"deltas", "totals", "goals", "compliance", "quality"})
EVENT_VIEWS = frozenset({"goals", "quality"})
RECEIPT_VIEWS = frozenset({"compliance"})
SNAPSHOT = city_url(NANJING, "tables/t1/periods/W03")


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    affects: frozenset[str]
    json: Any = None
    files: dict[str, Any] = field(default_factory=dict)


def writes(records: dict[str, Any]) -> dict[str, Write]:
    """operationId -> a request that changes something, and the views that must notice."""
    case, document = records["case_id"], records["document_id"]
    webhook = records["webhook_id"]
    return {
        "put_snapshot": Write(
            "PUT", SNAPSHOT, TABLE_VIEWS, json={"values": {"fairs_total": 40, "postings_total": 9}}
        ),
        "import_snapshot": Write(
            "POST",
            city_url(NANJING, "tables/t1/imports?period=W04"),
            TABLE_VIEWS,
            files={"file": ("t1.csv", b"key,value\nfairs_total,50\n", "text/csv")},
        ),
        "create_case": Write("POST", city_url(NANJING, "cases"), RECEIPT_VIEWS, json=case_body()),
        "update_case": Write(
            "PATCH", city_url(NANJING, "cases", case), RECEIPT_VIEWS, json={"period": "W04"}
        ),
        "upload_highlight_case_attachment": Write(
            "POST",
            city_url(NANJING, "cases", case, "attachments"),
            frozenset(),
            files={"file": ("现场.png", png(), "image/png")},
        ),
        "put_contact": Write(
            "PUT", city_url(NANJING, "contacts"), RECEIPT_VIEWS, json=CONTACT | {"name": "李强"}
        ),
        "submit_document": Write(
            "POST", city_url(NANJING, "documents"), RECEIPT_VIEWS, json=DOCUMENT
        ),
        "upload_document_attachment": Write(
            "POST",
            city_url(NANJING, "documents", document, "attachments"),
            frozenset(),
            files={"file": ("报告.png", png(), "image/png")},
        ),
        "put_event": Write(
            "PUT",
            city_url(NANJING, "events", "NJ-NEW-1"),
            EVENT_VIEWS,
            json=event_body(start_date="2024-02-06", end_date="2024-02-06"),
        ),
        "post_event_batch": Write(
            "POST",
            city_url(NANJING, "events/batch"),
            EVENT_VIEWS,
            json={"items": [recruitment_event("320102", "2024-02-07", n) for n in range(2)]},
        ),
        # The review state shows beside each table in compliance.
        "review_snapshot": Write(
            "POST",
            SNAPSHOT + "/review",
            RECEIPT_VIEWS,
            json={"decision": "return", "revision": 1, "reason": "请核实"},
        ),
        "review_case": Write(
            "POST",
            city_url(NANJING, "cases", case, "review"),
            frozenset(),
            json={"decision": "adopt"},
        ),
        "put_due_override": Write(
            "PUT",
            f"{CAMPAIGN}/due-overrides/W03",
            RECEIPT_VIEWS,
            json={"due": "2024-02-10T17:30:00+08:00", "reason": "节后顺延"},
        ),
        "delete_due_override": Write("DELETE", f"{CAMPAIGN}/due-overrides/W02", RECEIPT_VIEWS),
        # Locks refuse writes; they change no figure.
        "lock_period": Write(
            "PUT", f"{CAMPAIGN}/periods/W05/lock", frozenset(), json={"reason": "已上报"}
        ),
        "unlock_period": Write("DELETE", f"{CAMPAIGN}/periods/W01/lock", frozenset()),
        # An export reads; its job record is not campaign data.
        "start_export_job": Write(
            "POST", f"{CAMPAIGN}/exports/jobs", frozenset(), json={"kind": "t1.xlsx"}
        ),
        "issue_token": Write("POST", "/api/v1/auth/token", frozenset()),
        # Announcing and delivering changes is not a change of figures.
        "run_reminders": Write(
            "POST",
            f"{CAMPAIGN}/reminders/run",
            frozenset(),
            json={"at": "2024-02-23T15:00:00+08:00"},
        ),
        "create_subscription": Write("POST", "/api/v1/webhooks", frozenset(), json=SUBSCRIPTION),
        "delete_subscription": Write("DELETE", f"/api/v1/webhooks/{webhook}", frozenset()),
        "enable_subscription": Write("POST", f"/api/v1/webhooks/{webhook}/enable", frozenset()),
        "redeliver": Write(
            "POST",
            f"/api/v1/webhooks/{webhook}/deliveries/{records['delivery_id']}/redeliver",
            frozenset(),
        ),
    }


SUBSCRIPTION = {
    "url": "http://127.0.0.1:9/hooks",
    "events": ["snapshot.accepted"],
    "campaign": "js-2024",
}


@pytest.fixture
def records(client: TestClient, auth: Auth, session: Session) -> dict[str, Any]:
    """What the writes act on: a case, a document, an override and a lock to remove, a
    webhook subscription with a delivery."""
    admin = auth("admin")
    steps = [
        client.put(SNAPSHOT, json={"values": {"fairs_total": 30}}, headers=admin),
        client.put(
            f"{CAMPAIGN}/due-overrides/W02",
            json={"due": "2024-02-03T17:30:00+08:00", "reason": "测试"},
            headers=admin,
        ),
        client.put(f"{CAMPAIGN}/periods/W01/lock", json={"reason": "测试"}, headers=admin),
    ]
    case = client.post(city_url(NANJING, "cases"), json=case_body(), headers=admin)
    document = client.post(city_url(NANJING, "documents"), json=DOCUMENT, headers=admin)
    webhook = client.post("/api/v1/webhooks", json=SUBSCRIPTION, headers=admin)
    for response in (*steps, case, document, webhook):
        assert response.status_code in (200, 201), response.text
    event = session.exec(select(OutboxEvent)).first()
    assert event is not None and event.id is not None
    delivery = WebhookDelivery(subscription_id=webhook.json()["id"], event_id=event.id)
    session.add(delivery)
    session.commit()
    return {
        "admin": admin,
        "case_id": case.json()["id"],
        "document_id": document.json()["id"],
        "webhook_id": webhook.json()["id"],
        "delivery_id": delivery.id,
    }


def test_every_write_operation_is_listed(app: FastAPI, records: dict[str, Any]) -> None:
    documented = {
        operation["operationId"]
        for path_item in app.openapi()["paths"].values()
        for method, operation in path_item.items()
        if method in ("put", "post", "patch", "delete")
    }
    assert documented == set(writes(records))


def etags(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    tags = {}
    for view, params in VIEWS.items():
        response = client.get(f"{CAMPAIGN}/{view}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        tags[view] = response.headers["etag"]
    return tags


FIGURE_CHANGING = sorted(
    name
    for name, write in writes(
        {"case_id": 0, "document_id": 0, "webhook_id": "", "delivery_id": 0}
    ).items()
    if write.affects
)


@pytest.mark.parametrize("operation", FIGURE_CHANGING)
def test_a_write_changes_the_etag_of_every_view_it_affects(
    client: TestClient, records: dict[str, Any], operation: str
) -> None:
    write = writes(records)[operation]
    admin = records["admin"]
    before = etags(client, admin)
    response = client.request(
        write.method, write.path, json=write.json, files=write.files or None, headers=admin
    )
    assert response.status_code < 300, response.text
    after = etags(client, admin)
    stale = sorted(view for view in write.affects if after[view] == before[view])
    assert not stale, f"{operation} left these views' ETags unchanged: {stale}"


@pytest.mark.parametrize("operation", ["put_event", "post_event_batch"])
def test_an_events_write_leaves_the_views_that_do_not_read_the_registry_memoized(
    client: TestClient, records: dict[str, Any], operation: str
) -> None:
    """A city importing its events by the thousand does not make every dashboard polling
    `/totals` or `/compliance` recompute them."""
    write = writes(records)[operation]
    admin = records["admin"]
    before = etags(client, admin)
    response = client.request(write.method, write.path, json=write.json, headers=admin)
    assert response.status_code < 300, response.text
    after = etags(client, admin)
    assert {view for view in VIEWS if after[view] != before[view]} == EVENT_VIEWS


class TablesRead:
    """The campaign-data tables named in the SQL an engine runs while it listens."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = set(re.findall(r"[a-z_]+", statement.lower()))
        self.names |= {name for name in words if table_domain(name) is not None}


AT = datetime(2024, 3, 1, 4, 0, tzinfo=UTC)
VIEW_CALLS: dict[str, Callable[[Session, Any], PendingView]] = {
    "deltas": lambda s, as_of: answers.deltas(
        s, CAMPAIGN_ID, table=None, city=None, indicator=None, as_of=as_of
    ),
    "totals": lambda s, as_of: answers.totals(
        s, CAMPAIGN_ID, table=None, period="W03", as_of=as_of
    ),
    "goals": lambda s, as_of: answers.goals(
        s, CAMPAIGN_ID, answers.JudgedQuery(at=AT, as_of=as_of, city=None, period=None)
    ),
    "goals_of_a_city": lambda s, as_of: answers.goals(
        s, CAMPAIGN_ID, answers.JudgedQuery(at=AT, as_of=as_of, city=NANJING, period=None)
    ),
    "compliance": lambda s, as_of: answers.compliance(
        s, CAMPAIGN_ID, answers.JudgedQuery(at=AT, as_of=as_of, city=None, period=None)
    ),
    "quality": lambda s, as_of: answers.quality(s, CAMPAIGN_ID, as_of=as_of, city=None),
    "briefing": lambda s, as_of: answers.briefing(
        s, CAMPAIGN_ID, answers.BriefingQuery(period="W03", at=AT, as_of=as_of, cases="latest")
    ),
}


@pytest.mark.parametrize("as_of", [None, AT], ids=["now", "as_of"])
@pytest.mark.parametrize("view", sorted(VIEW_CALLS))
def test_a_view_follows_the_counters_of_every_table_it_reads(
    client: TestClient,
    session: Session,
    records: dict[str, Any],
    view: str,
    as_of: datetime | None,
) -> None:
    """A view that read a table of a domain it does not follow would be served stale after
    a write to that table: what each computation queries is checked against what it
    follows."""
    registered = client.put(
        city_url(NANJING, "events", "NJ-READ-1"),
        json=event_body(start_date="2024-02-06", end_date="2024-02-06"),
        headers=records["admin"],
    )
    assert registered.status_code == 201, registered.text
    pending = VIEW_CALLS[view](session, as_of)
    read = TablesRead()
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", read)
    try:
        pending.compute()
    finally:
        event.remove(engine, "before_cursor_execute", read)
    assert read.names, "the computation read nothing"
    unfollowed = {name for name in read.names if table_domain(name) not in pending.reads}
    assert not unfollowed, f"{view} reads {sorted(unfollowed)} but does not follow them"


# By construction (issue 15, item 5): no writer calls anything to move the counter.


def test_a_core_write_that_names_its_campaign_moves_the_counter_once(session: Session) -> None:
    before = data_version(session, CAMPAIGN_ID)
    for title in ("甲", "乙"):  # two statements, one transaction: one bump
        session.execute(
            update(HighlightCase)
            .where(col(HighlightCase.campaign_id) == CAMPAIGN_ID, col(HighlightCase.id) == -1)
            .values(title=title)
        )
    assert data_version(session, CAMPAIGN_ID) == before + 1
    session.commit()
    session.execute(
        update(HighlightCase)
        .where(col(HighlightCase.campaign_id) == bindparam("campaign"))
        .where(col(HighlightCase.id) == -1)
        .values(title="丙"),
        {"campaign": CAMPAIGN_ID},
    )
    assert data_version(session, CAMPAIGN_ID) == before + 2  # the next transaction bumps again


def test_a_write_that_names_no_campaign_moves_every_counter_before_commit(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """A statement that does not say its campaign (a row by its id) in a transaction that
    bumped nothing: committing it as it is would leave every view answering from before."""
    before = data_version(session, CAMPAIGN_ID)
    session.execute(update(HighlightCase).where(col(HighlightCase.id) == -1).values(title="丁"))
    assert data_version(session, CAMPAIGN_ID) == before
    session.commit()
    assert data_version(session, CAMPAIGN_ID) == before + 1
    assert "highlight_case" in caplog.text


def test_a_lock_only_statement_is_not_a_change(session: Session) -> None:
    before = data_version(session, CAMPAIGN_ID)
    session.execute(
        update(HighlightCase)
        .where(col(HighlightCase.campaign_id) == CAMPAIGN_ID, col(HighlightCase.id) == -1)
        .values(title="戊")
        .execution_options(**{LOCK_ONLY: True})
    )
    assert data_version(session, CAMPAIGN_ID) == before


def test_the_token_read_apart_is_the_one_a_view_reads(live_engine: Engine) -> None:
    """Polls read the token on a connection of their own through the DB-API; a view reads it
    in its session. Were the two ever spelled differently, no poll would find its answer."""
    for session in session_scope(live_engine):
        mark_written(session.connection(), "highlight_case", {CAMPAIGN_ID})
    reader = create_read_engine(live_engine)
    probe = create_probe_engine(reader)
    try:
        for domains in (DOMAINS, frozenset({RECORDS})):
            for session in session_scope(live_engine):
                in_session = change_token(session, CAMPAIGN_ID, domains)
            assert read_change_token(probe, CAMPAIGN_ID, domains) == in_session
        assert in_session.startswith("records:") and "-" in in_session  # a counter and stamp
    finally:
        for engine in {reader, probe} - {live_engine}:
            engine.dispose()
