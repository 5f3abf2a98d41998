"""Thousands of new rows at once (COPY on PostgreSQL, executemany on SQLite): every value
arrives as an INSERT would store it, and the table's change counter moves."""

from datetime import UTC, date, datetime, timedelta, timezone

from sqlmodel import Session, select

from app.core.bulk_insert import insert_rows
from app.core.changes import EVENTS, RECORDS, data_version
from app.events.models import RecruitmentEvent
from app.events.writes import EVENTS as EVENT_TABLE

CAMPAIGN, CITY, COUNTY = "js-2024", "320100", "320102"
CHINA = timezone(timedelta(hours=8))


def event_row(external_id: str, **changes: object) -> dict[str, object]:
    received = datetime(2024, 2, 23, 17, 25, tzinfo=CHINA)
    return {
        "campaign_id": CAMPAIGN,
        "city_code": CITY,
        "external_id": external_id,
        "county_code": COUNTY,
        "name": "春风行动 \\ 专场\t招聘会",
        "start_date": date(2024, 2, 18),
        "end_date": date(2024, 2, 19),
        "period_id": "W03",
        "mode": "offline",
        "labor_brand": True,
        "category": "returnees",
        "venue": None,
        "organizer": "区人社局",
        "employers": 0,
        "postings_offered": 100_000_000,
        "attendees": None,
        "intents": 610,
        "revision": 1,
        "content_sha256": "a" * 64,
        "first_received_at": received,
        "submitted_by": "client-1",
        "received_at": received,
        "backdated": False,
    } | changes


def test_rows_are_stored_as_an_insert_would_store_them(session: Session) -> None:
    rows = [event_row(f"NJ-{n}") for n in range(3)] + [event_row("NJ-x", venue="N/A \\N")]
    insert_rows(session, EVENT_TABLE, rows)
    stored = session.exec(select(RecruitmentEvent).order_by(RecruitmentEvent.external_id)).all()
    assert [event.external_id for event in stored] == ["NJ-0", "NJ-1", "NJ-2", "NJ-x"]
    first = stored[0]
    assert first.name == "春风行动 \\ 专场\t招聘会" and first.venue is None
    assert first.start_date == date(2024, 2, 18) and first.labor_brand is True
    assert first.postings_offered == 100_000_000 and first.attendees is None
    # An instant given in China time is the same instant in UTC.
    assert first.received_at == datetime(2024, 2, 23, 9, 25, tzinfo=UTC)
    assert stored[3].venue == "N/A \\N"  # COPY's null marker as text stays text
    assert len({event.id for event in stored}) == 4


def test_the_tables_counter_moves(session: Session) -> None:
    events_before = data_version(session, CAMPAIGN, EVENTS)
    records_before = data_version(session, CAMPAIGN, RECORDS)
    insert_rows(session, EVENT_TABLE, [event_row("NJ-1")])
    assert data_version(session, CAMPAIGN, EVENTS) == events_before + 1
    assert data_version(session, CAMPAIGN, RECORDS) == records_before


def test_nothing_to_insert_is_no_write(session: Session) -> None:
    before = data_version(session, CAMPAIGN, EVENTS)
    insert_rows(session, EVENT_TABLE, [])
    assert data_version(session, CAMPAIGN, EVENTS) == before
