"""The outbox (issue 13): every announced change writes its event in its own transaction —
an event exists exactly when its change was committed — and one campaign's event ids follow
commit order, which the live stream's Last-Event-ID relies on."""

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.core.db import session_scope
from app.outbox.models import EventType, OutboxEvent
from app.outbox.service import events_after, record_event
from tests.records_helpers import CAMPAIGN, NANJING, SUZHOU, case_body, city_url

Auth = Callable[..., dict[str, str]]
SNAPSHOT = city_url(NANJING, "tables/t1/periods/W03")


def announced(session: Session, after: int) -> list[tuple[str, str | None, dict[str, Any]]]:
    session.expire_all()
    rows = session.exec(
        select(OutboxEvent).where(col(OutboxEvent.id) > after).order_by(col(OutboxEvent.id))
    ).all()
    return [(row.type, row.city_code, row.data) for row in rows]


def test_each_change_announces_one_event_and_a_refused_or_unchanged_write_none(
    client: TestClient, session: Session, auth: Auth
) -> None:
    nanjing, reviewer, admin = auth("reporter", NANJING), auth("reviewer"), auth("admin")
    # Tests that commit (live servers on this database) may have left events behind.
    start = session.exec(select(func.max(OutboxEvent.id))).one() or 0
    put = client.put(SNAPSHOT, json={"values": {"fairs_total": 12}}, headers=nanjing)
    assert put.json()["status"] == "accepted"
    assert client.put(SNAPSHOT, json={"values": {"fairs_total": 12}}, headers=nanjing).json()[
        "status"
    ] == ("unchanged")
    refused = client.put(SNAPSHOT, json={"values": {"fairs_total": -1}}, headers=nanjing)
    assert refused.status_code == 422
    (only,) = announced(session, start)
    assert only[:2] == ("snapshot.accepted", NANJING)
    assert only[2] | {"received_at": None} == {
        "campaign": "js-2024",
        "city": NANJING,
        "table": "t1",
        "period": "W03",
        "revision": 1,
        "status": "accepted",
        "received_at": None,
    }

    review = SNAPSHOT + "/review"
    client.post(
        review, json={"decision": "return", "revision": 1, "reason": "请核实"}, headers=reviewer
    )
    client.put(SNAPSHOT, json={"values": {"fairs_total": 13}}, headers=nanjing)
    client.post(review, json={"decision": "approve", "revision": 2}, headers=reviewer)
    case = client.post(city_url(NANJING, "cases"), json=case_body(), headers=nanjing).json()
    client.post(
        city_url(SUZHOU, "cases"),
        json=case_body(urgent=True, county=None),
        headers=auth("reporter", SUZHOU),
    )
    client.post(
        city_url(NANJING, "cases", case["id"], "review"),
        json={"decision": "adopt"},
        headers=reviewer,
    )
    locked = client.put(
        CAMPAIGN + "/periods/W03/lock", json={"reason": "周报已汇总"}, headers=admin
    )
    assert locked.status_code == 200, locked.text

    events = announced(session, start)
    assert [(kind, city) for kind, city, _ in events] == [
        ("snapshot.accepted", NANJING),
        ("snapshot.returned", NANJING),
        ("snapshot.accepted", NANJING),
        ("snapshot.approved", NANJING),
        ("case.created", NANJING),
        ("urgent.reported", SUZHOU),
        ("case.adopted", NANJING),
        ("period.locked", None),
    ]
    assert events[1][2]["reason"] == "请核实" and events[3][2]["revision"] == 2
    assert events[4][2]["case_id"] == case["id"] and events[6][2]["case_id"] == case["id"]
    assert events[7][2] | {"lock_id": 0} == {
        "campaign": "js-2024",
        "city": None,
        "period": "W03",
        "lock_id": 0,
    }
    # what a city's stream may see: its own events and the campaign-wide ones
    seen = events_after(session, "js-2024", start, city=SUZHOU)
    assert [e.type for e in seen] == ["urgent.reported", "period.locked"]


def test_one_campaigns_events_are_numbered_in_commit_order(live_engine: Engine) -> None:
    """Break the guarantee once: a transaction that announces an event while another one,
    which drew its id earlier, is still open must wait for it; had it not waited, it would
    commit a larger id first and a stream would later find a smaller one appear behind it."""
    first_done = threading.Event()
    second_id: list[int] = []

    def second() -> None:
        for session in session_scope(live_engine):
            event = record_event(session, EventType.case_created, "js-2024", SUZHOU, {})
            assert event.id is not None
            second_id.append(event.id)
        first_done.wait(0)

    for session in session_scope(live_engine):
        first = record_event(session, EventType.case_created, "js-2024", NANJING, {})
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert second_id == [], "the second transaction drew an id while the first was open"
    racer.join(timeout=30)
    assert first.id is not None and second_id and second_id[0] > first.id
