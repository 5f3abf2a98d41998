"""Shared by the record tests: addresses and ready-made bodies."""

from collections.abc import Callable
from typing import Any

import pytest

from app.events.schemas import EVENT_EXAMPLE

Auth = Callable[..., dict[str, str]]
CAMPAIGN = "/api/v1/campaigns/js-2024"
NANJING, SUZHOU = "320100", "320500"
# counties: 玄武区 and 江宁区 of Nanjing, 姑苏区 of Suzhou
XUANWU, JIANGNING, GUSU = "320102", "320115", "320508"


def city_url(city: str, *path: object) -> str:
    return "/".join([CAMPAIGN, "cities", city, *(str(p) for p in path)])


def case_body(**changes: Any) -> dict[str, Any]:
    return {
        "period": "W03",
        "title": "江宁区直播带岗专场",
        "text": "2月6日开展直播带岗，线上观看1.2万人次。\n达成就业意向316人。",
        "county": JIANGNING,
        "activity": "jobs_nearby",
        "urgent": False,
    } | changes


def event_body(**changes: Any) -> dict[str, Any]:
    return EVENT_EXAMPLE | changes  # an event in 江宁区, W05


def role_matrix(created: int = 201) -> pytest.MarkDecorator:
    """Each role against Nanjing's records: (role, city, read status, write status)."""
    return pytest.mark.parametrize(
        ("role", "city", "read", "write"),
        [
            ("reporter", NANJING, 200, created),
            ("reporter", SUZHOU, 403, 403),
            ("viewer", None, 200, 403),
            ("admin", None, 200, created),
        ],
    )


CONTACT = {"name": "王敏", "phone": "025-8320 1234", "email": "jiuye@nanjing.gov.cn"}
DOCUMENT = {"kind": "stage_report", "title": "阶段性进展情况", "text": "一、总体进展……"}


def recruitment_event(county: str, day: str, n: int, mode: str = "offline") -> dict[str, Any]:
    """One recruitment event of one day, for the registry behind the county goal."""
    return {
        "external_id": f"{county}-{day}-{n}",
        "county": county,
        "name": f"招聘会{n}",
        "start_date": day,
        "end_date": day,
        "mode": mode,
    }
