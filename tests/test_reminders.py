"""Reminders (催报, issue 13 section 2): at each offset of a deliverable, every city that has
not delivered gets one notification, ever, with its outbox event and, when SMTP is set, an
e-mail to the city's contact."""

import email
import email.policy
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd import smtp
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.auth.models import Role
from app.campaigns.calendar import Deadline
from app.campaigns.definition import DefinitionError, parse_definition
from app.cli import main
from app.computed.compliance import ReceiptKey, Status
from app.core.db import create_db_engine, session_scope
from app.core.settings import Settings, get_settings
from app.core.types import utc_now
from app.main import create_app
from app.outbox.models import OutboxEvent
from app.reminders.email import MAX_EMAIL_ATTEMPTS, compose_message, send_pending_emails
from app.reminders.models import Notification
from app.reminders.service import due_reminders, firings, run_reminders
from tests.live import committed_token, environment_of, free_port
from tests.records_helpers import CAMPAIGN, GUSU, JIANGNING, NANJING, SUZHOU, case_body, city_url
from tests.test_definitions import raw

Auth = Callable[..., dict[str, str]]
Headers = dict[str, str]
CAMPAIGN_ID = "js-2024"
WUXI = "320200"
CITIES = parse_definition(raw(), "js-2024.yaml").reporting_units
WEEKLY = ("t1", "t2", "cases")
SHANGHAI_OFFSET = "+08:00"


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text + SHANGHAI_OFFSET)


# W05 is due on Friday 2024-02-23 at 17:30.
W05_DUE = instant("2024-02-23T17:30")
AT_1500 = instant("2024-02-23T15:00")
AT_1830 = instant("2024-02-23T18:30")


# -- the decision, on plain data ------------------------------------------------------------

OFFSETS = {"t1": [("-PT2H30M", timedelta(hours=-2, minutes=-30)), ("PT1H", timedelta(hours=1))]}
T1_W05 = Deadline("t1", "W05", W05_DUE, due_overridden=False)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2024-02-23T14:59:59", None),
        ("2024-02-23T15:00", "-PT2H30M"),
        ("2024-02-23T18:29:59", "-PT2H30M"),  # until the next offset fires
        ("2024-02-23T18:30", "PT1H"),
        ("2024-02-24T18:29:59", "PT1H"),  # the last offset: 24 hours
        ("2024-02-24T18:30", None),  # stale
    ],
)
def test_each_offset_fires_within_its_window_only(at: str, expected: str | None) -> None:
    found = firings([T1_W05], OFFSETS, instant(at))
    assert [f.offset for f in found] == ([expected] if expected else [])


def test_only_cities_whose_item_is_not_received_are_reminded() -> None:
    statuses: dict[ReceiptKey, Status] = {
        ("320100", "t1", "W05"): "on_time",
        ("320200", "t1", "W05"): "not_due",
        ("320300", "t1", "W05"): "late",
        ("320400", "t1", "W05"): "missing",
        ("320500", "t2", "W05"): "missing",  # another item
    }
    cities = ["320100", "320200", "320300", "320400", "320500"]
    before = due_reminders([T1_W05], OFFSETS, cities, statuses, AT_1500)
    assert [(r.city, r.firing.type.value) for r in before] == [
        ("320200", "deadline.reminder"),
        ("320400", "deadline.reminder"),
    ]
    assert before[0].key(CAMPAIGN_ID) == "js-2024/320200/t1/W05/-PT2H30M"
    after = due_reminders([T1_W05], OFFSETS, cities, statuses, AT_1830)
    assert {r.firing.type.value for r in after} == {"deadline.missed"}
    assert after[0].firing.fire_at == AT_1830 and after[0].firing.due == W05_DUE


# -- the definition ---------------------------------------------------------------------------


def test_js_2024_reminds_at_15_00_and_18_30_for_every_deliverable() -> None:
    definition = parse_definition(raw(), "js-2024.yaml")
    for deliverable in definition.deliverables:
        assert deliverable.reminders == ["-PT2H30M", "PT1H"]
        assert [o for _, o in deliverable.reminder_offsets] == [
            timedelta(hours=-2, minutes=-30),
            timedelta(hours=1),
        ]
    document = raw()
    del document["deliverables"][0]["reminders"]
    assert parse_definition(document, "x.yaml").deliverables[0].reminders == [], "default none"


@pytest.mark.parametrize(
    ("reminders", "expected"),
    [
        (["P1M"], "not an ISO 8601 duration"),  # a month has no fixed length
        (["PT"], "not an ISO 8601 duration"),
        (["two hours before"], "not an ISO 8601 duration"),
        (["-PT1.5H"], "not an ISO 8601 duration"),
        (["-P40D"], "more than 31 days"),
        (["-PT2H30M", "-PT150M"], "two reminders at the same offset"),
        ("-PT2H30M", "valid list"),
    ],
)
def test_a_bad_reminder_offset_is_refused_naming_the_deliverable(
    reminders: object, expected: str
) -> None:
    document = raw()
    document["deliverables"][1]["reminders"] = reminders
    with pytest.raises(DefinitionError) as caught:
        parse_definition(document, "broken.yaml")
    assert "broken.yaml: deliverables.1" in str(caught.value)
    assert expected in str(caught.value)


# -- running them (each test's data rolled back) ----------------------------------------------


def deliver(
    client: TestClient,
    headers: Headers,
    city: str,
    county: str,
    received_at: datetime,
    *,
    tables: tuple[str, ...] = ("t1", "t2"),
    cases: int = 3,
    period: str = "W05",
) -> None:
    """The city's weekly items for the period, received (as an administrator loads them) at
    `received_at`."""
    values = {"t1": {"fairs_total": 3}, "t2": {"ew_fairs": 1}}
    for table in tables:
        response = client.put(
            city_url(city, f"tables/{table}/periods/{period}"),
            json={"values": values[table], "received_at": received_at.isoformat()},
            headers=headers,
        )
        assert response.is_success, response.text
    for n in range(cases):
        response = client.post(
            city_url(city, "cases"),
            json=case_body(
                period=period,
                county=county,
                title=f"亮点案例{n}",
                received_at=received_at.isoformat(),
            ),
            headers=headers,
        )
        assert response.status_code == 201, response.text


def items(rows: list[Notification]) -> set[tuple[str, str]]:
    return {(row.city_code, row.deliverable) for row in rows}


def every(cities: set[str], deliverable: str) -> set[tuple[str, str]]:
    return {(city, deliverable) for city in cities}


@pytest.fixture
def admin(auth: Auth) -> Headers:
    return auth("admin")


def test_the_missing_are_reminded_at_15_00_and_told_at_18_30_once_each(
    client: TestClient, admin: Headers, session: Session, settings: Settings
) -> None:
    # Nanjing delivers everything at 14:00; Suzhou its T1 at 14:30 and its T2 at 16:00.
    deliver(client, admin, NANJING, JIANGNING, instant("2024-02-23T14:00"))
    deliver(client, admin, SUZHOU, GUSU, instant("2024-02-23T14:30"), tables=("t1",), cases=0)
    deliver(client, admin, SUZHOU, GUSU, instant("2024-02-23T16:00"), tables=("t2",), cases=0)
    others = set(CITIES) - {NANJING, SUZHOU}

    reminded = run_reminders(session, AT_1500, settings=settings)
    assert items(reminded) == (
        every(others, "t1") | every(others | {SUZHOU}, "t2") | every(others | {SUZHOU}, "cases")
    )
    assert len(reminded) == 11 + 12 + 12
    for row in reminded:
        assert (row.type, row.offset, row.period_id) == ("deadline.reminder", "-PT2H30M", "W05")
        assert (row.due, row.fire_at) == (W05_DUE, AT_1500)
        assert row.email_status == "not_sent", "no SMTP configured"
        assert row.dedupe_key == f"js-2024/{row.city_code}/{row.deliverable}/W05/-PT2H30M"

    # once ever: again at 15:00, later in the same window, or in another transaction's view
    assert run_reminders(session, AT_1500, settings=settings) == []
    assert run_reminders(session, instant("2024-02-23T16:30"), settings=settings) == []

    missed = run_reminders(session, AT_1830, settings=settings)
    # Suzhou's T2 arrived late but arrived: it is not told it missed it.
    assert items(missed) == (
        every(others, "t1") | every(others, "t2") | every(others | {SUZHOU}, "cases")
    )
    assert {(row.type, row.offset, row.fire_at) for row in missed} == {
        ("deadline.missed", "PT1H", AT_1830)
    }
    assert run_reminders(session, instant("2024-02-24T09:00"), settings=settings) == []

    stored = session.exec(select(Notification)).all()
    assert len(stored) == len(reminded) + len(missed)
    assert not any(row.city_code == NANJING for row in stored), "Nanjing delivered on time"


def test_a_past_instant_replayed_against_records_entered_since_counts_them(
    client: TestClient, admin: Headers, auth: Auth, session: Session, settings: Settings
) -> None:
    """A drill long after the season: Nanjing's system files W05 now, in real time (not
    backdated into the season); Suzhou's T1 was loaded as received at 16:00 that Friday."""
    nanjing = auth("reporter", NANJING)
    for table, values in (("t1", {"fairs_total": 3}), ("t2", {"ew_fairs": 1})):
        url = city_url(NANJING, f"tables/{table}/periods/W05")
        assert client.put(url, json={"values": values}, headers=nanjing).is_success
    deliver(client, admin, SUZHOU, GUSU, instant("2024-02-23T16:00"), tables=("t1",), cases=0)

    reminded = items(run_reminders(session, AT_1500, settings=settings))
    assert (NANJING, "t1") not in reminded and (NANJING, "t2") not in reminded
    assert (NANJING, "cases") in reminded, "no cases were filed"
    assert (SUZHOU, "t1") in reminded, "at 15:00 that day Suzhou's T1 had not arrived"


def test_each_notification_has_one_outbox_event_without_personal_data(
    client: TestClient, admin: Headers, session: Session, settings: Settings
) -> None:
    client.put(
        city_url(WUXI, "contacts"),
        json={"name": "李华", "phone": "0510-81234567", "email": "renshe@wuxi.gov.cn"},
        headers=admin,
    )
    rows = run_reminders(session, AT_1500, CAMPAIGN_ID, settings=settings)
    assert len(rows) == 13 * 3
    ids = {row.event_id for row in rows}
    assert None not in ids and len(ids) == len(rows)
    events = {
        e.id: e
        for e in session.exec(
            select(OutboxEvent).where(
                OutboxEvent.campaign_id == CAMPAIGN_ID, col(OutboxEvent.type).like("deadline.%")
            )
        ).all()
    }
    assert set(events) == ids, "no event without its notification"
    for row in rows:
        event = events[row.event_id]
        assert (event.type, event.city_code, event.campaign_id) == (
            "deadline.reminder",
            row.city_code,
            CAMPAIGN_ID,
        )
        assert event.data == {
            "campaign": CAMPAIGN_ID,
            "city": row.city_code,
            "deliverable": row.deliverable,
            "period": "W05",
            "due": "2024-02-23T17:30:00+08:00",
            "offset": "-PT2H30M",
            "fire_at": "2024-02-23T15:00:00+08:00",
        }
    assert "@" not in json.dumps([e.data for e in events.values()])


def test_a_stale_offset_sends_nothing(session: Session, settings: Settings) -> None:
    # A day after the last offset fired (the scheduler was down since), nothing at all.
    assert run_reminders(session, instant("2024-02-24T18:30"), settings=settings) == []
    # Not run at 15:00: at 18:30 the cities hear that they missed the deadline, not that it
    # is coming.
    late_start = run_reminders(session, AT_1830, settings=settings)
    assert {(row.type, row.offset) for row in late_start} == {("deadline.missed", "PT1H")}
    assert len(late_start) == 13 * 3


# -- the endpoints --------------------------------------------------------------------------

NOTIFICATIONS = f"{CAMPAIGN}/notifications"
RUN = f"{CAMPAIGN}/reminders/run"


def test_run_is_for_admins_and_answers_what_it_created(client: TestClient, auth: Auth) -> None:
    body = {"at": "2024-02-23T15:00:00+08:00"}
    for role, city in (("viewer", None), ("reviewer", None), ("reporter", NANJING)):
        assert client.post(RUN, json=body, headers=auth(role, city)).status_code == 403
    assert client.post(RUN, json=body).status_code == 401
    admin = auth("admin")
    naive = client.post(RUN, json={"at": "2024-02-23T15:00:00"}, headers=admin)
    assert naive.status_code == 422
    created = client.post(RUN, json=body, headers=admin)
    assert created.status_code == 200, created.text
    assert len(created.json()) == 13 * 3
    first = created.json()[0]
    assert first["type"] == "deadline.reminder" and first["fire_at"] == "2024-02-23T07:00:00Z"
    assert client.post(RUN, json=body, headers=admin).json() == []
    # without a body: now, long after the campaign
    assert client.post(RUN, headers=admin).json() == []
    assert client.post(f"{CAMPAIGN}x/reminders/run", json=body, headers=admin).status_code == 404


def test_who_sees_which_notifications(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    client.put(
        city_url(NANJING, "contacts"),
        json={"name": "王敏", "phone": "025-83201234", "email": "jiuye@nanjing.gov.cn"},
        headers=admin,
    )
    assert client.post(RUN, json={"at": "2024-02-23T15:00:00+08:00"}, headers=admin).is_success
    assert client.post(RUN, json={"at": "2024-02-23T18:30:00+08:00"}, headers=admin).is_success

    def listed(headers: Headers, **query: Any) -> list[dict[str, Any]]:
        response = client.get(NOTIFICATIONS, params=query, headers=headers)
        assert response.status_code == 200, response.text
        assert "jiuye@" not in response.text
        found: list[dict[str, Any]] = response.json()
        return found

    for role in ("admin", "reviewer", "viewer"):
        everything = listed(auth(role), limit=1000)
        assert len(everything) == 13 * 3 * 2
        assert {n["city"] for n in everything} == set(CITIES)
    nanjing = auth("reporter", NANJING)
    own = listed(nanjing)
    assert len(own) == 6 and {n["city"] for n in own} == {NANJING}
    assert listed(nanjing, city=NANJING) == own
    other = client.get(NOTIFICATIONS, params={"city": SUZHOU}, headers=nanjing)
    assert other.status_code == 403
    assert client.get(NOTIFICATIONS).status_code == 401

    viewer = auth("viewer")
    newest = listed(viewer, limit=1000)
    assert [n["id"] for n in newest] == sorted((n["id"] for n in newest), reverse=True)
    assert newest[0]["type"] == "deadline.missed"
    by_fire = listed(viewer, order="fire_at", limit=1000)
    assert [n["fire_at"] for n in by_fire] == sorted(n["fire_at"] for n in by_fire)
    assert by_fire[0]["type"] == "deadline.reminder"
    assert len(listed(viewer, limit=5)) == 5
    assert len(listed(viewer)) == 78, "the default limit holds these"
    missed = listed(viewer, type="deadline.missed", deliverable="t2", period="W05", limit=1000)
    assert len(missed) == 13 and {(n["type"], n["deliverable"]) for n in missed} == {
        ("deadline.missed", "t2")
    }
    assert listed(viewer, period="W06") == []
    suzhou_cases = listed(viewer, city=SUZHOU, deliverable="cases")
    assert sorted(n["offset"] for n in suzhou_cases) == ["-PT2H30M", "PT1H"]
    for bad in ({"limit": 1001}, {"limit": 0}, {"deliverable": "t9"}, {"type": "deadline"}):
        assert client.get(NOTIFICATIONS, params=bad, headers=viewer).status_code == 422, bad
    assert client.get(f"{CAMPAIGN}x/notifications", headers=viewer).status_code == 404


# -- a database of their own: the command line, concurrent runs, e-mail ------------------------


@pytest.fixture(scope="module")
def live_client(live_settings: Settings, live_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(live_settings, live_engine)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def live_admin(live_settings: Settings, live_engine: Engine) -> Headers:
    return {"Authorization": committed_token(live_settings, live_engine, Role.admin, None)}


def put_contact(client: TestClient, admin: Headers, city: str, address: str) -> None:
    response = client.put(
        city_url(city, "contacts"),
        json={"name": "联系人", "phone": "13812345678", "email": address},
        headers=admin,
    )
    assert response.is_success, response.text


def stored(engine: Engine, period: str) -> list[Notification]:
    for session in session_scope(engine):
        rows = session.exec(
            select(Notification)
            .where(Notification.period_id == period)
            .order_by(col(Notification.id))
        ).all()
    return list(rows)


def test_the_command_line_sends_what_the_scheduler_would(
    live_settings: Settings,
    live_engine: Engine,
    live_client: TestClient,
    live_admin: Headers,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deliver(live_client, live_admin, NANJING, JIANGNING, instant("2024-02-23T14:00"))
    for name, value in environment_of(live_settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SMTP_HOST", raising=False)
    get_settings.cache_clear()
    try:
        command = ["reminders", "run", "--at", "2024-02-23T15:00+08:00"]
        assert main(command) == 0
        printed = capsys.readouterr()
        documents = [json.loads(line) for line in printed.out.splitlines()]
        assert "36 notification(s) at 2024-02-23T15:00:00+08:00" in printed.err
        assert {(d["city"], d["deliverable"]) for d in documents} == {
            (city, item) for city in set(CITIES) - {NANJING} for item in WEEKLY
        }
        assert all(d["type"] == "deadline.reminder" and d["period"] == "W05" for d in documents)
        assert all(d["event_id"] and d["email_status"] == "not_sent" for d in documents)

        assert main([*command, "--campaign", CAMPAIGN_ID]) == 0, "a restart sends nothing"
        assert capsys.readouterr().out == ""
        assert main(["reminders", "run", "--at", "2024-02-23T15:00"]) == 2, "needs an offset"
    finally:
        get_settings.cache_clear()
    assert len(stored(live_engine, "W05")) == 36


def test_two_concurrent_runs_create_each_notification_once(
    live_settings: Settings, live_engine: Engine
) -> None:
    # Friday W06 at 15:00: the weekly items, and the stage report missed the evening before.
    at = instant("2024-03-01T15:00")
    start = threading.Barrier(2)
    created: list[list[Notification]] = []
    engines = [create_db_engine(live_settings.sqlalchemy_url) for _ in range(2)]

    def run(engine: Engine) -> None:
        start.wait(timeout=10)
        for session in session_scope(engine):
            rows = run_reminders(session, at, settings=live_settings)
        created.append(rows)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert len(created) == 2, "both runs finished"
    everything = created[0] + created[1]
    assert len(everything) == 13 * 4
    assert len({row.dedupe_key for row in everything}) == 13 * 4
    assert Counter(row.deliverable for row in everything)["stage_report"] == 13
    assert len(stored(live_engine, "W06")) == 13 * 3
    for session in session_scope(live_engine):
        ids = [row.id for row in everything]
        rows = session.exec(select(Notification).where(col(Notification.id).in_(ids))).all()
        events = session.exec(
            select(OutboxEvent.id).where(col(OutboxEvent.id).in_([r.event_id for r in rows]))
        ).all()
    assert len(events) == 13 * 4, "one event per notification"


class Inbox:
    """An aiosmtpd handler keeping what it accepted; it refuses the addresses in `refuse`
    the way real servers do, quoting them."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: smtp.SMTP,
        session: smtp.Session,
        envelope: smtp.Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: smtp.SMTP, session: smtp.Session, envelope: smtp.Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox(refuse={"bounce@wuxi.gov.cn"})
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


ADDRESSES = {
    NANJING: "jiuye@nanjing.gov.cn",
    SUZHOU: "renshe@suzhou.gov.cn",
    WUXI: "bounce@wuxi.gov.cn",
}


def test_e_mail_reaches_each_contact_once_per_notification(
    live_settings: Settings,
    live_engine: Engine,
    live_client: TestClient,
    live_admin: Headers,
    inbox: tuple[Inbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = inbox
    for city, address in ADDRESSES.items():
        put_contact(live_client, live_admin, city, address)
    mailing = live_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    # W07: Friday 2024-03-08, Suzhou has delivered its T1.
    suzhou_t1 = instant("2024-03-08T09:00")
    deliver(live_client, live_admin, SUZHOU, GUSU, suzhou_t1, tables=("t1",), cases=0, period="W07")
    for session in session_scope(live_engine):
        created = run_reminders(session, instant("2024-03-08T15:00"), settings=mailing)
    pending = {(r.city_code, r.deliverable) for r in created if r.email_status == "pending"}
    assert pending == {
        (city, item) for city in ADDRESSES for item in WEEKLY if (city, item) != (SUZHOU, "t1")
    }
    assert {r.email_status for r in created if r.city_code not in ADDRESSES} == {"not_sent"}

    caplog.set_level("INFO", logger="app.reminders")
    now = utc_now()
    attempted: list[int] = []
    workers = [
        threading.Thread(
            target=lambda name: attempted.append(
                send_pending_emails(live_engine, mailing, name, now)
            ),
            args=(name,),
        )
        for name in ("worker-a", "worker-b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(attempted)[-1] >= 1 and sum(attempted) == len(pending), "claimed once each"
    assert send_pending_emails(live_engine, mailing, "worker-a", now) == 0

    received = Counter((tuple(to), m["Subject"]) for to, m in handler.messages)
    assert all(count == 1 for count in received.values()), "no message twice"
    assert len(handler.messages) == 5, "Nanjing 3, Suzhou 2 (its T1 arrived); Wuxi refused"
    assert {to[0] for to, _ in handler.messages} == {ADDRESSES[NANJING], ADDRESSES[SUZHOU]}
    for to, message in handler.messages:
        assert message["From"] == mailing.smtp_sender and message["To"] == to[0]
        assert message["Subject"].startswith("【催报】")
        assert "W07 将于2024年3月8日（星期五）17:30截止" in message["Subject"]
        body = message.get_body()
        assert body is not None
        text = body.get_content()
        assert "2024年春风行动" in text and "北京时间" in text and "3月2日至3月8日" in text
    subjects = {(to[0], m["Subject"].split(" ")[0]) for to, m in handler.messages}
    assert (ADDRESSES[NANJING], "【催报】一周特色亮点工作") in subjects
    assert (ADDRESSES[SUZHOU], "【催报】附件2") in subjects
    assert (ADDRESSES[SUZHOU], "【催报】附件1") not in subjects
    nanjing_cases = next(
        m for to, m in handler.messages if to == [ADDRESSES[NANJING]] and "亮点" in m["Subject"]
    )
    body = nanjing_cases.get_body()
    assert body is not None and "南京市" in body.get_content() and "至少3个" in body.get_content()

    rows = {(r.city_code, r.deliverable): r for r in stored(live_engine, "W07")}
    for (city, item), row in rows.items():
        if (city, item) in pending and city != WUXI:
            assert row.email_status == "sent" and row.email_sent_at == now
        elif city == WUXI:
            assert row.email_status == "pending" and row.email_attempts == 1
            assert row.email_error and "550" in row.email_error
            assert "bounce@" not in row.email_error and "<address>" in row.email_error
    # Refused at every attempt, Wuxi's e-mails end failed; the others are not sent again.
    later = now
    for _ in range(MAX_EMAIL_ATTEMPTS - 1):
        later += timedelta(hours=1)
        assert send_pending_emails(live_engine, mailing, "worker-a", later) == 3
    assert send_pending_emails(live_engine, mailing, "worker-a", later + timedelta(days=1)) == 0
    wuxi = [r for r in stored(live_engine, "W07") if r.city_code == WUXI]
    assert {(r.email_status, r.email_attempts) for r in wuxi} == {("failed", MAX_EMAIL_ATTEMPTS)}
    assert len(handler.messages) == 5
    for address in ADDRESSES.values():
        assert address not in caplog.text
    assert "reminder e-mail sent" in caplog.text


def test_a_missed_one_off_item_is_named_with_its_due_in_local_time() -> None:
    definition = parse_definition(raw(), "js-2024.yaml")
    due = instant("2024-01-26T17:30")
    row = Notification(
        id=7,
        dedupe_key="js-2024/320100/contacts/-/PT1H",
        campaign_id=CAMPAIGN_ID,
        city_code=NANJING,
        deliverable="contacts",
        offset="PT1H",
        type="deadline.missed",
        due=due,
        fire_at=due + timedelta(hours=1),
    )
    message = compose_message(
        definition, [], row, "南京市", sender="sb@example.org", address="a@b.cn", sent_at=due
    )
    assert (
        message["Subject"]
        == "【逾期未报】联系人及联系方式 已过截止时间2024年1月26日（星期五）17:30"
    )
    body = message.get_body()
    assert body is not None
    text = body.get_content()
    assert text.startswith("南京市：") and "请尽快补报" in text and "18:30" in text
    assert message["Message-ID"].endswith("@example.org>")


def test_smtp_down_ends_failed_after_retries_without_crashing(
    live_settings: Settings, live_engine: Engine, live_client: TestClient, live_admin: Headers
) -> None:
    put_contact(live_client, live_admin, NANJING, ADDRESSES[NANJING])
    down = live_settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_timeout_seconds": 2}
    )
    for session in session_scope(live_engine):
        created = run_reminders(session, instant("2024-03-15T15:00"), settings=down)
    # Nanjing's contact, and those other tests of this database gave
    pending = {r.id for r in created if r.email_status == "pending"}
    assert {r.deliverable for r in created if r.city_code == NANJING and r.id in pending} == set(
        WEEKLY
    )

    def mailed() -> list[Notification]:
        return [r for r in stored(live_engine, "W08") if r.id in pending]

    now = utc_now()
    assert send_pending_emails(live_engine, down, "worker-a", now) == len(pending)
    first = mailed()
    assert {(r.email_status, r.email_attempts) for r in first} == {("pending", 1)}
    assert all(r.email_error and "Connection" in r.email_error for r in first)
    assert send_pending_emails(live_engine, down, "worker-a", now) == 0, "waits before retrying"
    for attempt in range(2, MAX_EMAIL_ATTEMPTS + 1):
        now += timedelta(hours=1)
        assert send_pending_emails(live_engine, down, "worker-a", now) == len(pending), attempt
    assert send_pending_emails(live_engine, down, "worker-a", now + timedelta(days=1)) == 0
    final = mailed()
    assert {(r.email_status, r.email_attempts) for r in final} == {("failed", MAX_EMAIL_ATTEMPTS)}
    assert all(r.email_sent_at is None for r in final)


def test_without_smtp_nothing_is_sent(live_engine: Engine, live_settings: Settings) -> None:
    assert live_settings.smtp_host is None
    assert send_pending_emails(live_engine, live_settings, "worker-a", datetime.now(UTC)) == 0
