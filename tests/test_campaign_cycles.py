"""Reporting cycles other than weeks ending on a weekday (issue 15, item 4): periods of a
fixed number of days, and 旬 (dekads). The test campaign ah-2025 reports every ten days and
runs through intake, the computed views and an export with no line of code naming it."""

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session

from app.campaigns.calendar import build_periods
from app.campaigns.definition import CampaignDefinition, CountyEventsGoal
from app.campaigns.loading import load_campaign_file
from app.computed.goals import required_events
from tests.records_helpers import recruitment_event

Auth = Callable[..., dict[str, str]]
DEFINITION = Path(__file__).parent / "campaigns" / "ah-2025.yaml"
CAMPAIGN = "/api/v1/campaigns/ah-2025"
HEFEI, YAOHAI, LUYANG, CHANGFENG = "340100", "340102", "340103", "340121"
AFTER_THE_END = "2025-03-21T12:00:00+08:00"


def definition(**changes: Any) -> CampaignDefinition:
    document = yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))
    return CampaignDefinition.model_validate(document | changes)


def spans(campaign: CampaignDefinition) -> list[tuple[str, date, date, int, int]]:
    return [(p.id, p.start, p.end, p.days, p.nominal_days) for p in build_periods(campaign)]


def test_ten_day_periods_count_from_the_start_and_the_end_cuts_the_last() -> None:
    assert spans(definition()) == [
        ("P01", date(2025, 2, 6), date(2025, 2, 15), 10, 10),
        ("P02", date(2025, 2, 16), date(2025, 2, 25), 10, 10),
        ("P03", date(2025, 2, 26), date(2025, 3, 7), 10, 10),
        ("P04", date(2025, 3, 8), date(2025, 3, 17), 10, 10),
        ("P05", date(2025, 3, 18), date(2025, 3, 20), 3, 10),
    ]


def test_dekads_follow_the_month_and_a_late_start_shortens_the_first() -> None:
    campaign = definition(
        start="2025-01-25", end="2025-03-05", periods={"dekads": True, "id_prefix": "X"}
    )
    assert campaign.periods.label == "旬"
    assert spans(campaign) == [
        ("X01", date(2025, 1, 25), date(2025, 1, 31), 7, 11),  # 下旬 of a 31-day month
        ("X02", date(2025, 2, 1), date(2025, 2, 10), 10, 10),
        ("X03", date(2025, 2, 11), date(2025, 2, 20), 10, 10),
        ("X04", date(2025, 2, 21), date(2025, 2, 28), 8, 8),  # 下旬 of February
        ("X05", date(2025, 3, 1), date(2025, 3, 5), 5, 10),
    ]


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ({"week_ends_on": "friday", "every_days": 10}, "exactly one of week_ends_on"),
        ({}, "exactly one of week_ends_on"),
        ({"every_days": 1}, "more than 99 periods"),
        ({"every_days": 10, "id_prefix": "w1"}, "id_prefix"),
    ],
)
def test_a_cycle_is_given_once_and_fits_two_digit_ids(
    periods: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        definition(periods=periods, end="2025-12-31")


def test_a_weekly_rate_needs_weekly_periods() -> None:
    goals = yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))["goals"]
    goals["county_events"] = {"per_week": 3, "modes": ["offline"], "partial_weeks": "full"}
    with pytest.raises(ValidationError, match="use per_period instead"):
        definition(goals=goals)


@pytest.mark.parametrize(
    ("days", "nominal", "required"), [(10, 10, 5), (3, 10, 2), (1, 10, 1), (8, 8, 5), (7, 11, 4)]
)
def test_a_short_period_needs_its_share_of_the_period_rate(
    days: int, nominal: int, required: int
) -> None:
    goal = CountyEventsGoal(per_period=5, modes=["offline"], partial_weeks="prorate_ceil")
    assert required_events(goal, days, nominal) == required


def test_a_ten_day_campaign_runs_through_intake_views_and_exports(
    client: TestClient, session: Session, auth: Auth
) -> None:
    load_campaign_file(session, DEFINITION)
    session.commit()
    hefei, viewer = auth("reporter", HEFEI), auth("viewer")

    weekly_id = client.put(
        CAMPAIGN + f"/cities/{HEFEI}/tables/hiring/periods/W01",
        json={"values": {"postings": 1}},
        headers=hefei,
    )
    assert weekly_id.status_code == 404  # its periods are P01…P05
    for period, collected in (("P01", 1000), ("P03", 2500)):
        put = client.put(
            CAMPAIGN + f"/cities/{HEFEI}/tables/hiring/periods/{period}",
            json={"values": {"postings": collected, "fairs": 2}},
            headers=hefei,
        )
        assert put.status_code == 200, put.text

    events = [recruitment_event(YAOHAI, "2025-02-07", n) for n in range(5)]
    events += [recruitment_event(YAOHAI, "2025-02-08", 9, "online")]  # not an offline event
    events += [recruitment_event(LUYANG, "2025-03-18", n) for n in range(2)]
    events += [recruitment_event(CHANGFENG, "2025-03-19", 0)]
    batch = client.post(
        CAMPAIGN + f"/cities/{HEFEI}/events/batch", json={"items": events}, headers=hefei
    )
    assert batch.status_code == 200, batch.text

    deltas = client.get(CAMPAIGN + "/deltas", params={"city": HEFEI}, headers=viewer).json()
    postings = {d["period"]: d for d in deltas["items"] if d["indicator"] == "postings"}
    assert (postings["P03"]["delta"], postings["P03"]["previous_period"]) == (1500, "P01")
    assert postings["P03"]["gap"] is True  # P02 was not reported

    goals = client.get(CAMPAIGN + "/goals", params={"at": AFTER_THE_END}, headers=viewer)
    county = goals.json()["county_events"]
    assert county["per_week"] == 5  # per period of full length
    cells = {(c["county"], c["period"]): c for c in county["matrix"]}
    assert len(cells) == 5 * 5  # five counties (three in Hefei, two in Wuhu) × five periods
    assert (cells[(YAOHAI, "P01")]["events"], cells[(YAOHAI, "P01")]["met"]) == (5, True)
    assert cells[(YAOHAI, "P05")]["required"] == 2  # three days of ten: ⌈5 × 3 / 10⌉
    assert cells[(LUYANG, "P05")]["met"] is True
    assert (cells[(CHANGFENG, "P05")]["events"], cells[(CHANGFENG, "P05")]["met"]) == (1, False)

    exported = client.get(
        CAMPAIGN + "/exports/county-weeks.csv",
        params={"at": AFTER_THE_END, "city": HEFEI},
        headers=viewer,
    )
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {row["period"] for row in rows} == {"P01", "P02", "P03", "P04", "P05"}

    workbook = client.get(
        CAMPAIGN + "/exports/hiring.xlsx", params={"period": "P03"}, headers=viewer
    )
    assert workbook.status_code == 200, workbook.text
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    texts = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "本期报送" in texts  # Hefei reported P03: a period of this campaign is 期, not 周
    assert not [text for text in texts if "本周" in text]
