"""The dashboard (全省春风行动进度看板, issue 14) in a real browser: Debian's headless
Chromium signs in with a viewer's client credentials, reads the numbers off each page and
compares them with the API's answers for a small season, watches a write arrive within 2 s
through the live change stream (and after the stream reconnects, and by polling while the
stream fails), and fails on any request to another host and on any console error. It saves
the screenshots of docs/screenshots/ (the README shows them).

Chromium comes from Debian (`apt-get install chromium fonts-noto-cjk`); without it the tests
are skipped, unless REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

import math
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)
from sqlalchemy import Engine
from sqlmodel import Session

from app.auth.models import Role
from app.auth.service import create_client
from app.computed import memo
from app.core.db import session_scope
from app.core.settings import Settings
from app.main import create_app
from app.outbox.service import last_event_id
from tests.browser import CHROMIUM_ARGS
from tests.conftest import make_settings, prepared_engine
from tests.live import PROJECT_ROOT, committed_token, serve_in_thread

CAMPAIGN = "/api/v1/campaigns/js-2024"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
FIRST_PAINT_BUDGET_MS = 1500
LIVE_BUDGET_SECONDS = 2.0
SESSION_KEY = "spring-breeze.dashboard.session"
# Wednesday of W09: W09 is in progress (not due), W08 was due last Friday.
MID_CAMPAIGN = "2024-03-20T12:00:00+08:00"
WEEKS = [f"W{k:02d}" for k in range(1, 9)]  # the season: T1 of W01..W08
NANJING, CHANGZHOU, SUZHOU, LIANYUNGANG = "320100", "320400", "320500", "320700"
LATE_CITY, GAP_CITY, STALE_CITY = CHANGZHOU, LIANYUNGANG, "321200"  # 泰州 stops after W05
LATE_BY = timedelta(days=1, hours=2)
URGENT_TITLE = "姑苏区某企业欠薪引发聚集"


@dataclass
class Season:
    """A live server on a database of its own, loaded with a small season."""

    base: str
    settings: Settings
    engine: Engine
    admin: dict[str, str]
    reader: dict[str, str]
    viewer: tuple[str, str]  # client id and secret, for the sign-in form
    reporter: tuple[str, str]  # Nanjing's
    periods: list[dict[str, Any]]

    def get(self, path: str, **params: str) -> Any:
        answer = httpx.get(self.base + CAMPAIGN + path, params=params, headers=self.reader)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def period(self, week: str) -> dict[str, Any]:
        return next(p for p in self.periods if p["id"] == week)


def credentials(engine: Engine, role: Role, city: str | None) -> tuple[str, str]:
    for session in session_scope(engine):
        client, secret = create_client(
            session, name=f"dashboard {role.value}", role=role, city=city
        )
        client_id = client.id
    return client_id, secret


@pytest.fixture(scope="module")
def season(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Season]:
    folder = tmp_path_factory.mktemp("dashboard-season")
    settings = make_settings(f"sqlite:///{folder / 'season.db'}").model_copy(
        update={"storage_dir": folder / "storage"}
    )
    # A fresh database restarts the change counter: forget answers memoized for others.
    memo.clear()
    for engine in prepared_engine(settings):
        admin = {"Authorization": committed_token(settings, engine, Role.admin, None)}
        reader = {"Authorization": committed_token(settings, engine, Role.viewer, None)}
        viewer = credentials(engine, Role.viewer, None)
        reporter = credentials(engine, Role.reporter, NANJING)
        with serve_in_thread(create_app(settings)) as base:
            periods = httpx.get(base + CAMPAIGN + "/periods").json()
            loaded = Season(base, settings, engine, admin, reader, viewer, reporter, periods)
            load_season(loaded)
            yield loaded
        memo.clear()


def weekly_postings(city_index: int, week: int) -> int:
    return 2000 + 450 * ((city_index * 5 + week * 3) % 11)


def cumulative_postings(city_index: int, week: int) -> int:
    return sum(weekly_postings(city_index, k) for k in range(1, week + 1))


def local(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def load_season(season: Season) -> None:
    """13 cities' T1 for W01..W08 (Changzhou late in W06, Lianyungang skipping W07, Taizhou
    stopping after W05), four cities' T2, weekly cases (some cities short of 3), an urgent
    report, contacts and stage reports, and recruitment events in every county."""
    cities = season.get("")["reporting_units"]
    with httpx.Client(base_url=season.base + CAMPAIGN, headers=season.admin, timeout=30) as api:

        def send(method: str, path: str, body: dict[str, Any], expected: int = 200) -> None:
            answer = api.request(method, path, json=body)
            assert answer.status_code == expected, answer.text

        for index, city in enumerate(cities):
            for k, week in enumerate(WEEKS, start=1):
                if (city == GAP_CITY and week == "W07") or (city == STALE_CITY and k > 5):
                    continue
                due = local(season.period(week)["due"])
                late = city == LATE_CITY and week == "W06"
                # on time: 12:00 on the due day
                received = due + LATE_BY if late else due - timedelta(hours=5, minutes=30)
                fairs = 6 * k + index
                send(
                    "PUT",
                    f"/cities/{city}/tables/t1/periods/{week}",
                    {
                        "values": {
                            "postings_total": cumulative_postings(index, k),
                            "fairs_total": fairs,
                            "fairs_online": fairs // 3,
                            "fairs_offline": fairs - fairs // 3,
                            "employment_intents": 300 * k + 10 * index,
                        },
                        "received_at": received.isoformat(),
                    },
                )
                if index < 4:
                    send(
                        "PUT",
                        f"/cities/{city}/tables/t2/periods/{week}",
                        {
                            "values": {"ew_fairs": k, "ew_postings": 150 * k},
                            "received_at": received.isoformat(),
                        },
                    )
            for week in ("W07", "W08"):
                due = local(season.period(week)["due"])
                for n in range(2 if index % 4 == 1 else 3):
                    send(
                        "POST",
                        f"/cities/{city}/cases",
                        {
                            "period": week,
                            "title": f"{week}送岗到身边专场{n + 1}",
                            "text": "走进社区和园区，现场对接岗位。",
                            "activity": "jobs_nearby",
                            "received_at": (due - timedelta(days=1, hours=n)).isoformat(),
                        },
                        201,
                    )
            if index < 12:
                contacts_received = (
                    "2024-01-26T10:00:00+08:00" if index < 11 else "2024-01-27T09:00:00+08:00"
                )
                send(
                    "PUT",
                    f"/cities/{city}/contacts",
                    {
                        "name": "王敏",
                        "phone": "025-83201234",
                        "email": "jiuye@example.gov.cn",
                        "received_at": contacts_received,
                    },
                    201,
                )
            if index < 9:
                send(
                    "POST",
                    f"/cities/{city}/documents",
                    {
                        "kind": "stage_report",
                        "title": "阶段性进展情况",
                        "text": "一、总体进展",
                        "received_at": "2024-02-28T10:00:00+08:00"
                        if index < 8
                        else "2024-03-01T10:00:00+08:00",
                    },
                    201,
                )
            send("POST", f"/cities/{city}/events/batch", {"items": events_of(season, city, index)})
        send(
            "POST",
            f"/cities/{SUZHOU}/cases",
            {
                "period": "W08",
                "title": URGENT_TITLE,
                "text": "已会同劳动监察部门现场处置，工资已足额发放。",
                "activity": "visit",
                "urgent": True,
                "received_at": "2024-03-14T09:00:00+08:00",
            },
            201,
        )


def events_of(season: Season, city: str, city_index: int) -> list[dict[str, Any]]:
    """Between 0 and 5 events per county and week, and a few in the week in progress."""
    counties = httpx.get(
        season.base + "/api/v1/regions", params={"level": "county", "parent": city}
    ).json()
    items = []
    for n, county in enumerate(counties):
        for k, week in enumerate([*WEEKS, "W09"], start=1):
            period = season.period(week)
            start, days = date.fromisoformat(period["start"]), period["days"]
            count = (n * 3 + k * 5 + city_index) % 6
            if week == "W09":
                count, days = (n + city_index) % 3, 4  # Saturday to Tuesday, in progress
            for m in range(count):
                day = (start + timedelta(days=m % days)).isoformat()
                items.append(
                    {
                        "external_id": f"{county['code']}-{week}-{m}",
                        "county": county["code"],
                        "name": f"{county['name']}招聘会",
                        "start_date": day,
                        "end_date": day,
                        "mode": "online" if m % 2 else "offline",
                    }
                )
    return items


@dataclass
class Watch:
    """Everything one browser context asked for, and every error its pages logged."""

    server: str
    requests: list[str] = field(default_factory=list)
    sent: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)
    responses: list[tuple[str, int, str | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)
        self.sent.append((time.monotonic(), request.url, request.headers))

    def on_response(self, response: Response) -> None:
        encoding = response.headers.get("content-encoding")
        self.responses.append((response.url, response.status, encoding))

    def sent_to(self, path: str, since: float = 0.0) -> list[tuple[float, dict[str, str]]]:
        """When (time.monotonic) each request for `path` since `since` was sent, and its
        headers."""
        return [
            (at, headers)
            for at, url, headers in self.sent
            if urlsplit(url).path == path and at >= since
        ]

    def asked(self, path: str, since: float = 0.0) -> list[dict[str, str]]:
        return [headers for _, headers in self.sent_to(path, since)]

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def check(self, *secrets: str, allowed: tuple[str, ...] = ()) -> None:
        outside = [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != self.server
        ]
        assert not outside, f"requests to other hosts: {outside}"
        leaked = [url for url in self.requests if any(secret in url for secret in secrets)]
        assert not leaked, f"a secret or token in an address: {leaked}"
        errors = [e for e in self.errors if not any(text in e for text in allowed)]
        assert not errors, f"console errors: {errors}"


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


Tab = tuple[Page, Watch]


@pytest.fixture
def tab(browser: Browser, season: Season) -> Iterator[Tab]:
    # The browser's clock is UTC: the page must read and write times in the campaign's zone.
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="UTC"
    )
    watch = Watch(urlsplit(season.base).netloc)
    context.on("request", watch.on_request)
    context.on("response", watch.on_response)
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    try:
        yield page, watch
    finally:
        context.close()


def sign_in(page: Page, season: Season, who: tuple[str, str], path: str = "/dashboard/") -> None:
    page.goto(season.base + path)
    page.get_by_label("客户端 ID").fill(who[0])
    page.get_by_label("客户端密钥").fill(who[1])
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_selector("html[data-ready='1']", state="attached")


def number(value: float) -> str:
    """As the page writes it (zh-CN grouping)."""
    return f"{value:,}"


def session_token(page: Page) -> str:
    stored = page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}'))")
    assert isinstance(stored, dict)
    token = stored["token"]
    assert isinstance(token, str)
    return token


def first_paint_ms(page: Page) -> float:
    page.reload()
    page.wait_for_selector("html[data-ready='1']", state="attached")
    value = page.evaluate("performance.getEntriesByName('sb:first-data')[0].startTime")
    assert isinstance(value, int | float)
    return float(value)


def test_overview_shows_the_api_answers(tab: Tab, season: Season) -> None:
    page, watch = tab
    sign_in(page, season, season.viewer)

    goals = season.get("/goals")["postings"]
    expect(page.locator("#postings-actual")).to_have_text(number(goals["actual"]))
    expect(page.locator("#postings-percent")).to_have_text(f"{goals['percent']:.2f}%")
    expect(page.locator("#goal-target")).to_have_text(number(goals["target"]))
    expect(page.locator("#postings-expected")).to_contain_text(number(goals["expected_by_at"]))
    expect(page.locator("#postings-projected")).to_have_text(number(goals["projected_final"]))
    # Taizhou is carried forward: the projection says what it stands on
    caveat = goals["coverage"]["caveat"]
    assert caveat and "泰州市" in goals["coverage"]["stale_names"]
    expect(page.locator("#coverage-caveat")).to_contain_text(caveat)
    expect(page.locator("#coverage-caveat")).to_contain_text("沿用前期数据：泰州市")

    # the weekly chart's table: the province total of each week is /totals' (carried forward)
    for week in WEEKS:
        totals = season.get("/totals", table="t1", period=week)["items"]
        (postings,) = [i for i in totals if i["indicator"] == "postings_total"]
        cell = page.locator(f"#weekly-table tr[data-series=cumulative] td[data-period={week}]")
        expect(cell).to_have_text(number(postings["total"]))
    expect(page.locator("#weekly-chart canvas")).to_have_count(1)

    # a city's row of the ranking is /goals?city='s figure, rank and share
    city = season.get("/goals", city=SUZHOU)["city_postings"]
    row = page.locator(f"#ranking-table tr[data-city='{SUZHOU}']")
    expect(row.locator("[data-field=rank]")).to_have_text(str(city["rank"]))
    expect(row.locator("[data-field=postings]")).to_have_text(number(city["actual"]))
    expect(row.locator("[data-field=share]")).to_have_text(f"{city['share_percent']:.2f}%")
    stale = page.locator(f"#ranking-table tr[data-city='{STALE_CITY}'] [data-field=postings]")
    expect(stale).to_contain_text("沿用 W05")
    counts = season.get("/compliance")["by_city"][NANJING]
    judged = counts["on_time"] + counts["late"] + counts["missing"]
    on_time = page.locator(f"#ranking-table tr[data-city='{NANJING}'] [data-field=on-time]")
    expect(on_time).to_contain_text(f"{counts['on_time'] * 100 / judged:.1f}%")
    expect(page.locator("#ranking-table tbody tr")).to_have_count(13)

    # a compliance cell: the board shows the current week (by the clock: the last) and the one
    # before; the period selector moves it to W06, where Changzhou's T1 came 1 day 2 h late
    current = season.get("/compliance", city=NANJING, period="W12")["items"]
    (t1,) = [i for i in current if i["deliverable"] == "t1"]
    cell = page.locator(f"#compliance-table td[data-city='{NANJING}'][data-deliverable=t1]")
    expect(cell.first).to_have_attribute("data-status", t1["status"])
    page.get_by_label("周次").select_option("W06")
    expect(page.locator("#compliance-table thead")).to_contain_text("本期 W06")
    late = season.get("/compliance", city=LATE_CITY, period="W06")["items"]
    (t1,) = [i for i in late if i["deliverable"] == "t1"]
    assert t1["status"] == "late" and t1["late_by_seconds"] == LATE_BY.total_seconds()
    cell = page.locator(
        f"#compliance-table td[data-city='{LATE_CITY}'][data-deliverable=t1][data-period=W06]"
    )
    expect(cell).to_have_attribute("data-status", "late")
    expect(cell).to_have_text("⏱ 迟报 1天2小时")
    assert parse_qs(urlsplit(page.url).query)["period"] == ["W06"]

    # a county × week cell: /goals' matrix
    matrix = season.get("/goals")["county_events"]["matrix"]
    for cell_data in (matrix[4], matrix[200], matrix[-1]):
        county, week = cell_data["county"], cell_data["period"]
        heat = page.locator(f"#events-grid td[data-county='{county}'][data-period={week}]")
        symbol = "✓" if cell_data["met"] else "✗"
        expect(heat).to_have_text(f"{cell_data['events']}{symbol}")
        expect(heat).to_have_attribute("data-required", str(cell_data["required"]))
    expect(page.locator("#events-grid table")).to_have_count(13)
    expect(page.locator("#events-grid tbody tr")).to_have_count(95)

    # urgent reports: a viewer may see them
    expect(page.locator("#urgent-panel")).to_be_visible()
    expect(page.locator("#urgent-list")).to_contain_text(URGENT_TITLE)

    # first meaningful paint: the headline figure, from navigation start (warm, then cold)
    warm = first_paint_ms(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cold = first_paint_ms(page)
    print(f"\nfirst meaningful paint of 全省总览: {warm:.0f} ms cached, {cold:.0f} ms uncached")
    assert warm < FIRST_PAINT_BUDGET_MS and cold < FIRST_PAINT_BUDGET_MS

    watch.check(season.viewer[1], session_token(page))


def test_the_city_page_shows_the_api_answers(tab: Tab, season: Season) -> None:
    page, watch = tab
    sign_in(page, season, season.viewer, f"/dashboard/city/{SUZHOU}")
    expect(page.locator("#city-title")).to_have_text("苏州市")

    city = season.get("/goals", city=SUZHOU)
    postings = city["city_postings"]
    expect(page.locator("#city-postings-actual")).to_have_text(number(postings["actual"]))
    expect(page.locator("#city-rank")).to_have_text(
        f"第 {postings['rank']} 名 / {postings['ranked_cities']} 市"
    )

    # T1 over the weeks: /deltas?city='s cumulative figure and increase per period
    deltas = season.get("/deltas", city=SUZHOU)["items"]
    for item in deltas:
        if item["table"] != "t1":
            continue
        cell = page.locator(
            f"#city-data-t1 tr[data-indicator={item['indicator']}] td[data-period={item['period']}]"
        )
        expect(cell).to_have_attribute("data-cumulative", str(item["cumulative"]))
        expect(cell).to_have_attribute("data-delta", str(item["delta"]))
    cell = page.locator("#city-data-t1 tr[data-indicator=postings_total] td[data-period=W08]")
    (w08,) = [i for i in deltas if i["indicator"] == "postings_total" and i["period"] == "W08"]
    expect(cell).to_have_text(number(w08["cumulative"]) + "+" + number(w08["delta"]))
    expect(page.locator("#chart-t1 canvas")).to_have_count(1)
    expect(page.locator("#city-table-t2-note")).to_have_text("本市尚未报送此表。")

    # its counties' events
    matrix = city["county_events"]["matrix"]
    expect(page.locator("#city-events-grid tbody tr")).to_have_count(
        len({cell["county"] for cell in matrix})
    )
    for cell_data in matrix[::17]:
        heat = page.locator(
            f"#city-events-grid td[data-county='{cell_data['county']}']"
            f"[data-period={cell_data['period']}]"
        )
        expect(heat).to_have_attribute("data-events", str(cell_data["events"]))

    # its cases (the urgent one included), newest first
    cases = season.get(f"/cities/{SUZHOU}/cases", limit="1000")["items"]
    expect(page.locator("#city-cases-table tbody tr")).to_have_count(len(cases))
    expect(page.locator("#city-cases-table tbody tr").first).to_contain_text(URGENT_TITLE)

    # its missing and late items: as many as /compliance?city= counts
    counts = season.get("/compliance", city=SUZHOU)["by_city"][SUZHOU]
    expect(page.locator("#city-missing-summary")).to_contain_text(f"缺报 {counts['missing']} 项")
    listed = page.locator("#city-missing-list li[data-status=missing]")
    expect(listed.first).to_be_visible()
    total = sum(
        int(n or 0) for n in listed.evaluate_all("(items) => items.map(i => i.dataset.count)")
    )
    assert total == counts["missing"]

    watch.check(season.viewer[1], session_token(page))


def test_screenshots_of_both_pages_mid_campaign(tab: Tab, season: Season) -> None:
    """The README's pictures: the dashboard as it looked on Wednesday of W09 (taken before the
    write test below adds a W09 figure)."""
    page, watch = tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, season, season.viewer, f"/dashboard/?at={MID_CAMPAIGN.replace('+', '%2B')}")
    expect(page.locator("#overview-scope")).to_contain_text("评判时点 2024-03-20 12:00")
    goals = season.get("/goals", at=MID_CAMPAIGN)["postings"]
    expect(page.locator("#postings-expected")).to_contain_text(number(goals["expected_by_at"]))
    not_due = page.locator(f"#compliance-table td[data-city='{NANJING}'][data-period=W09]")
    expect(not_due.first).to_have_attribute("data-status", "not_due")
    expect(page.locator("#events-grid td[data-state=in_progress]").first).to_be_visible()
    expect(page.locator("#weekly-chart canvas")).to_have_count(1)
    page.wait_for_timeout(300)  # the charts' first frame
    page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True)

    page.goto(f"{season.base}/dashboard/city/{NANJING}?at={MID_CAMPAIGN.replace('+', '%2B')}")
    page.wait_for_selector("html[data-ready='1']", state="attached")
    expect(page.locator("#city-cases-table tbody tr").first).to_be_visible()
    expect(page.locator("#chart-t2 canvas")).to_have_count(1)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "city.png"), full_page=True)
    watch.check(season.viewer[1], session_token(page))


def put_postings(season: Season, base: str, extra: int) -> None:
    """Nanjing's W09 figure, `extra` above its W08 one: a change the overview shows."""
    values = {"postings_total": cumulative_postings(0, 8) + extra}
    written = httpx.put(
        f"{base}{CAMPAIGN}/cities/{NANJING}/tables/t1/periods/W09",
        json={"values": values, "received_at": "2024-03-22T12:00:00+08:00"},
        headers=season.admin,
    )
    assert written.status_code == 200, written.text


def shows_within(page: Page, season: Season, budget_seconds: float, since: float) -> float:
    """Seconds from `since` until the headline figure is the API's current one."""
    after = season.get("/goals")["postings"]["actual"]
    page.wait_for_function(
        "text => document.getElementById('postings-actual').textContent === text",
        arg=number(after),
        timeout=budget_seconds * 1000,
        polling=50,
    )
    return time.monotonic() - since


def test_a_write_reaches_the_page_within_two_seconds(tab: Tab, season: Season) -> None:
    page, watch = tab
    sign_in(page, season, season.viewer)
    page.wait_for_selector("html[data-live=stream]", state="attached")
    before = season.get("/goals")["postings"]["actual"]
    expect(page.locator("#postings-actual")).to_have_text(number(before))
    quiet = time.monotonic()
    page.wait_for_timeout(1500)
    # with the stream up the page does not poll: nothing was asked while nothing changed
    assert watch.asked(CAMPAIGN + "/goals", since=quiet) == []

    started = time.monotonic()
    put_postings(season, season.base, 12_345)
    assert season.get("/goals")["postings"]["actual"] != before
    latency = shows_within(page, season, LIVE_BUDGET_SECONDS, started)
    print(f"\nlive update: the page showed the write {latency * 1000:.0f} ms after it")
    assert latency < LIVE_BUDGET_SECONDS
    row = page.locator(f"#ranking-table tr[data-city='{NANJING}'] [data-field=increase]")
    expect(row).to_have_text("+12,345")

    # one stream, with the token in its header; the views were asked again conditionally
    (stream,) = watch.asked(CAMPAIGN + "/stream")
    assert stream["authorization"].startswith("Bearer ") and "last-event-id" not in stream
    asked_again = watch.asked(CAMPAIGN + "/goals", since=started)
    assert asked_again and all("if-none-match" in headers for headers in asked_again)
    goals = [r for r in watch.responses if urlsplit(r[0]).path == CAMPAIGN + "/goals"]
    assert any(status == 304 for _, status, _ in goals), goals
    assert all(encoding == "gzip" for _, status, encoding in goals if status == 200), goals
    watch.check(season.viewer[1], session_token(page))


def newest_event_id(engine: Engine) -> int:
    """Read in a thread of its own: Playwright's sync API keeps an event loop on this one."""

    def read() -> int:
        with Session(engine) as session:
            return last_event_id(session, "js-2024")

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def test_a_stream_that_ends_is_resumed_without_losing_a_write(tab: Tab, season: Season) -> None:
    """Streams of this server end after 2 s: the page reopens its stream with Last-Event-ID,
    and a write made while it had none still arrives through the stream."""
    page, watch = tab
    short = season.settings.model_copy(update={"stream_max_seconds": 2.0})
    with serve_in_thread(create_app(short, season.engine)) as base:
        local = Season(**{**season.__dict__, "base": base})
        watch.server = urlsplit(base).netloc
        sign_in(page, local, season.viewer)
        page.wait_for_selector("html[data-live=stream]", state="attached")
        ((opened, _),) = watch.sent_to(CAMPAIGN + "/stream")
        # the stream ends 2 s after it opened, and the page waits the `retry:` 2 s before it
        # opens another: a write in between finds no stream open
        page.wait_for_timeout(max(0.0, opened + 2.4 - time.monotonic()) * 1000)
        seen = newest_event_id(season.engine)  # the last id the page was told
        started = time.monotonic()
        put_postings(local, base, 23_456)
        latency = shows_within(page, local, 2.0 + LIVE_BUDGET_SECONDS, started)
        print(f"\nresumed stream: the page showed the write {latency * 1000:.0f} ms after it")
        (_, first), (reopened, second), *_ = watch.sent_to(CAMPAIGN + "/stream")
        assert "last-event-id" not in first
        assert reopened > started and second["last-event-id"] == str(seen)
        # still on the stream, which brought the write (beside it the page polls every 10 s)
        assert page.evaluate("document.documentElement.dataset.live") == "stream"
        watch.check(season.viewer[1], session_token(page))


def test_the_page_polls_while_the_stream_fails(tab: Tab, season: Season) -> None:
    page, watch = tab
    page.route(
        f"**{CAMPAIGN}/stream",
        lambda route: route.fulfill(status=503, headers={"Retry-After": "1"}, body=""),
    )
    sign_in(page, season, season.viewer)
    # three failures in a row (after 1 s and 2 s): polling every second
    page.wait_for_selector("html[data-live=polling]", state="attached", timeout=8000)
    expect(page.locator("#live-status")).to_have_text("实时更新中（每秒检查）")
    started = time.monotonic()
    put_postings(season, season.base, 34_567)
    latency = shows_within(page, season, LIVE_BUDGET_SECONDS, started)
    print(f"\npolling fallback: the page showed the write {latency * 1000:.0f} ms after it")
    # the stream is tried again, ever more slowly, and taken back when it works
    page.unroute(f"**{CAMPAIGN}/stream")
    page.wait_for_selector("html[data-live=stream]", state="attached", timeout=10_000)
    expect(page.locator("#live-status")).to_have_text("实时推送中")
    watch.check(season.viewer[1], session_token(page), allowed=("status of 503",))


def test_period_as_of_and_at_reach_the_api(tab: Tab, season: Season) -> None:
    page, watch = tab
    sign_in(page, season, season.viewer)
    # "what did we know then": the figures as they stood on 20 February, in Beijing time
    page.get_by_label("数据截至（as_of）").fill("2024-02-20T00:00:00")
    page.get_by_label("评判时点（at）").fill("2024-03-20T12:00:00")
    page.get_by_role("button", name="应用").click()
    as_of, at = "2024-02-20T00:00:00+08:00", MID_CAMPAIGN
    then = season.get("/goals", as_of=as_of, at=at)["postings"]
    expect(page.locator("#postings-actual")).to_have_text(number(then["actual"]))
    expect(page.locator("#postings-basis")).to_contain_text(then["basis_period"])
    assert then["basis_period"] == "W04"
    query = parse_qs(urlsplit(page.url).query)
    assert query["as_of"] == [as_of] and query["at"] == [at]
    asked = [
        parse_qs(urlsplit(url).query)
        for url in watch.requests
        if urlsplit(url).path in (CAMPAIGN + "/goals", CAMPAIGN + "/compliance")
    ]
    assert {"as_of": [as_of], "at": [at]} in asked
    # judged at `at`, W09 has not ended: its cells are in progress, its items not yet due
    expect(page.locator("#events-grid td[data-period=W09]").first).to_have_attribute(
        "data-state", "in_progress"
    )
    expect(page.locator("#compliance-table thead")).to_contain_text("本期 W09")
    # and back to now
    page.get_by_role("button", name="恢复为现在").click()
    expect(page.locator("#postings-actual")).to_have_text(
        number(season.get("/goals")["postings"]["actual"])
    )
    assert urlsplit(page.url).query == ""
    watch.check(season.viewer[1], session_token(page))


def test_sign_in_is_asked_for_and_again_when_the_token_expires(tab: Tab, season: Season) -> None:
    page, watch = tab
    page.goto(season.base + "/dashboard/")
    expect(page.locator("#signin-panel")).to_be_visible()
    expect(page.locator("#overview")).to_be_hidden()
    page.get_by_label("客户端 ID").fill(season.viewer[0])
    page.get_by_label("客户端密钥").fill("not-the-secret")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#signin-message")).to_contain_text("不正确")

    page.get_by_label("客户端密钥").fill(season.viewer[1])
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#overview")).to_be_visible()
    expect(page.get_by_label("客户端密钥")).to_have_value("")  # the secret is not kept
    token = session_token(page)
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
    expect(page.locator("#who")).to_contain_text("查看者")

    # the server stops accepting the token: the next request's 401 (here, the views asked
    # again after an announced change) asks to sign in again
    page.wait_for_selector("html[data-live=stream]", state="attached")
    page.evaluate(
        f"""() => {{
            const s = JSON.parse(sessionStorage.getItem('{SESSION_KEY}'));
            s.token = s.token.slice(0, -4) + 'AAAA';
            sessionStorage.setItem('{SESSION_KEY}', JSON.stringify(s));
        }}"""
    )
    lock = f"{season.base}{CAMPAIGN}/periods/W01/lock"
    locked = httpx.put(lock, json={"city": NANJING, "reason": "归档"}, headers=season.admin)
    assert locked.status_code == 200, locked.text
    expect(page.locator("#signin-panel")).to_be_visible(timeout=3000)
    unlocked = httpx.delete(lock, params={"city": NANJING}, headers=season.admin)
    assert unlocked.status_code == 200, unlocked.text
    expect(page.locator("#signin-message")).to_contain_text("过期")
    expect(page.locator("#overview")).to_be_hidden()
    page.get_by_label("客户端 ID").fill(season.viewer[0])
    page.get_by_label("客户端密钥").fill(season.viewer[1])
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#overview")).to_be_visible()

    # a token past its lifetime is not used at all
    page.evaluate(
        f"""() => {{
            const s = JSON.parse(sessionStorage.getItem('{SESSION_KEY}'));
            s.expiresAt = Date.now() - 1;
            sessionStorage.setItem('{SESSION_KEY}', JSON.stringify(s));
        }}"""
    )
    page.reload()
    expect(page.locator("#signin-panel")).to_be_visible()
    watch.check(season.viewer[1], token, allowed=("status of 401",))


def test_a_city_reporter_sees_the_views_but_not_the_urgent_list(tab: Tab, season: Season) -> None:
    page, watch = tab
    sign_in(page, season, season.reporter)
    expect(page.locator("#who")).to_contain_text("城市报送 · 南京市")
    expect(page.locator("#postings-actual")).to_have_text(
        number(season.get("/goals")["postings"]["actual"])
    )
    page.wait_for_timeout(1200)  # the urgent list was asked for and refused
    expect(page.locator("#urgent-panel")).to_be_hidden()
    page.goto(f"{season.base}/dashboard/city/{SUZHOU}")
    expect(page.locator("#city-cases-summary")).to_contain_text("无权查看")
    page.goto(f"{season.base}/dashboard/city/{NANJING}")
    expect(page.locator("#city-cases-table tbody tr").first).to_be_visible()
    watch.check(season.reporter[1], session_token(page), allowed=("status of 403",))


# Checks run in the page: text contrast (WCAG AA) and controls without an accessible name.
PAGE_CHECKS = (Path(__file__).parent / "dashboard_checks.js").read_text()


def page_check(page: Page, name: str) -> list[str]:
    found = page.evaluate(f"({PAGE_CHECKS}).{name}()")
    assert isinstance(found, list)
    return [str(item) for item in found]


def test_keyboard_labels_contrast_and_print(tab: Tab, season: Season, tmp_path: Path) -> None:
    page, watch = tab
    sign_in(page, season, season.viewer)
    expect(page.locator("#ranking-table tbody tr")).to_have_count(13)
    expect(page.locator("#compliance-table tbody tr")).to_have_count(13)

    # every control has a name; the keyboard reaches them in order, starting with the skip link
    assert page_check(page, "unlabelled") == []
    page.reload()  # from the top of a fresh page
    page.wait_for_selector("html[data-ready='1']", state="attached")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
    reached = []
    for _ in range(24):  # a date-time field takes a Tab per part
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
    for control in ("nav-overview", "city-select", "sign-out", "period-select", "as-of", "at"):
        assert control in reached, reached
    page.locator("#city-select").focus()
    page.keyboard.press("ArrowDown")  # the keyboard alone opens a city's page
    page.wait_for_url(re.compile(r"/dashboard/city/\d{6}"))
    page.go_back()
    page.wait_for_selector("html[data-ready='1']", state="attached")
    expect(page.locator("#compliance-table tbody tr")).to_have_count(13)

    # contrast AA (4.5:1, 3:1 for large text) for every visible text on the page
    assert page_check(page, "lowContrast") == []

    # print: an A4 landscape page of the overview, without the controls
    page.emulate_media(media="print")
    expect(page.locator("#controls")).to_be_hidden()
    expect(page.locator("#goal-panel")).to_be_visible()
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # as printing does
    pdf = page.pdf(path=tmp_path / "overview.pdf", prefer_css_page_size=True, print_background=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert 1 <= len(boxes) <= 2, "the overview prints on one or two pages"
    for width, height in boxes:
        assert math.isclose(float(width), 841.89, abs_tol=2)  # 297 mm
        assert math.isclose(float(height), 595.28, abs_tol=2)  # 210 mm
    watch.check(season.viewer[1], session_token(page))
