"""Benchmark: computed views against a hand-written SQL answer for each, at scale.

Two shapes, loaded through the service's own write functions:

- `national` (default): 333 reporting cities, 2,844 counties, 12 periods, ~1,000,000
  recruitment events (29 per county-week);
- `province`: the province's real shape (issue 10): the 13 cities and 95 counties of
  Jiangsu, 12 periods, ~1,000,000 events (877 per county-week).

Both tables every week for most cities (some carry T1 forward, one never reports it), and
contacts, highlight cases (some urgent) and documents with on-time and late receipts. Then:

1. each view's hand-written SQL (bench/reference_sql.py) is checked against the API's answer
   for the same instant: every total and city value, the postings figure and coverage, every
   county-period event count (from the tally, and again counted from the registry by start
   date), every compliance judgement; any difference stops the bench;
2. over HTTP against `python -m app serve`, per view, side by side in each round: a snapshot
   PUT (not timed; it bumps the change counter, so the view's memo misses and the answer is
   computed afresh: checked by its ETag changing), then, in a rotating order, `GET /healthz`,
   the fresh view (polled: asked before, so computed again by app.computed.remembered), the
   view with a query not asked before (a first request: through its route), the
   hand-written SQL on the DB-API driver (the yardstick: the database's
   work and the rows' transfer) and the same SQL through SQLAlchemy Core (for reference);
   then the memo-served view and a revalidation (304). Targets (issue 10): fresh view (and
   first request) p50 ≤ healthz p50 + 2 × SQL p50; memo-served and 304 p50 ≤ healthz p50 + 1 ms;
3. in-process (the app through httpx's ASGI transport), where a fresh request's time goes
   (memo emptied before it: view computation and the SQL reads in it, region names, JSON
   encoding, gzip, JWT, change token, commit, and the framework before and after the
   handler), then a memo-served request's, next to `GET /healthz`.

    .venv/bin/python -m bench.national_views [--database sqlite|postgresql|both]
        [--shape national|province] [--events-per-county-week N] [--requests 40]
        [--url DATABASE_URL] [--no-breakdown]

With --url the season is loaded into that database once and reused by later runs.
"""

import argparse
import asyncio
import csv
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import wraps
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Engine, text
from sqlmodel import Session

import app.auth.dependencies as dependencies_module
import app.computed.answers as answers_module
import app.computed.memo as memo_module
import app.computed.names as names_module
import app.computed.remembered as remembered_module
import app.computed.router as router_module
import app.computed.sources as sources_module
import app.computed.views as views_module
from app.auth.models import Role
from app.campaigns.calendar import build_deadlines, build_periods
from app.campaigns.definition import CampaignDefinition
from app.campaigns.loading import load_campaigns
from app.campaigns.service import DEFINITIONS_DIR, get_definition
from app.cases.schemas import CaseIn
from app.cases.service import create_case
from app.computed import memo
from app.contacts.schemas import ContactIn
from app.contacts.service import put_contact
from app.core.db import create_db_engine, create_read_engine, session_scope
from app.core.migrations import upgrade_to_head
from app.documents.schemas import DocumentIn
from app.documents.service import submit_document
from app.events.writes import ingest
from app.main import create_app
from app.records.receipt import Receipt
from app.records.scope import resolve_scope
from app.reporting import snapshots
from bench import reference_sql
from bench.common import (
    bench_settings,
    database,
    live_server,
    percentile,
    postgres_available,
    token_for,
)
from bench.snapshot_put import t1_values

BATCH = 5000
ZONE = timezone(timedelta(hours=8))
# The instants the views are asked about: in W12 (so every week has started and the last
# is in progress), and on the last due day before its 17:30 (so compliance has every status).
GOALS_AT = datetime(2024, 4, 8, 12, 0, tzinfo=ZONE)
COMPLIANCE_AT = datetime(2024, 4, 10, 15, 0, tzinfo=ZONE)


@dataclass(frozen=True)
class Shape:
    name: str
    campaign: str
    events_per_county_week: int
    synthetic: bool  # made-up regions and definition (national) or the real ones (province)


SHAPES = {
    "national": Shape("national", "cn-2024", 29, synthetic=True),
    "province": Shape("province", "js-2024", 877, synthetic=False),
}
NATIONAL_CITIES = 333
NATIONAL_COUNTIES = 2844


def national_cities() -> list[str]:
    return [f"{400100 + 100 * n}" for n in range(NATIONAL_CITIES)]


def national_counties(cities: list[str]) -> dict[str, list[str]]:
    """2,844 counties spread over the cities (8 or 9 each)."""
    per_city: dict[str, list[str]] = {city: [] for city in cities}
    for n in range(NATIONAL_COUNTIES):
        city = cities[n % NATIONAL_CITIES]
        per_city[city].append(f"{int(city) + len(per_city[city]) + 1}")
    return per_city


def write_regions(path: Path, counties: dict[str, list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent_code", "kind"])
        writer.writerow(["400000", "全国（基准测试）", "province", "", "province"])
        for city, codes in counties.items():
            writer.writerow([city, f"城市{city}", "city", "400000", "prefecture_city"])
            writer.writerows([c, f"县{c}", "county", city, "county"] for c in codes)


def write_definition(directory: Path, campaign: str, cities: list[str]) -> None:
    document = yaml.safe_load((DEFINITIONS_DIR / "js-2024.yaml").read_text(encoding="utf-8"))
    document.update(
        id=campaign,
        name_zh="全国春风行动（基准测试）",
        province="400000",
        regions="regions.csv",
        reporting_units=cities,
    )
    (directory / f"{campaign}.yaml").write_text(
        yaml.safe_dump(document, allow_unicode=True), encoding="utf-8"
    )


def t2_values(n: int) -> dict[str, Any]:
    bus, train, flight = 40 + n, 30 + n, 2 + n
    return {
        "ew_fairs": 10 + n,
        "ew_fairs_sx_qh": 4,
        "ew_postings": 500 + n,
        "ew_postings_sx_qh": 90,
        "ew_agreements": 3,
        "ew_agreements_sx_qh": 1,
        "ew_bases": 2,
        "ew_bases_sx_qh": 1,
        "ns_fairs": 6 + n,
        "ns_postings": 300 + n,
        "ns_agreements": 2,
        "ns_bases": 1,
        "p2p_bus_trips": 5,
        "p2p_bus_passengers": bus,
        "p2p_train_trips": 2,
        "p2p_train_passengers": train,
        "p2p_flight_trips": 1,
        "p2p_flight_passengers": flight,
        "p2p_passengers_total": bus + train + flight,
        "p2p_passengers_sx_qh": 20,
    }


def reports(index: int, cities: int, table: str, period: int) -> bool:
    """Which city reports which table when: the last city never reports T1, every tenth
    skips T1 in W11 and W12 (carried forward from W10), every sixth skips T2 in W12."""
    if table == "t1":
        return index != cities - 1 and not (index % 10 == 4 and period >= 11)
    return not (index % 6 == 5 and period == 12)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def load_snapshots(engine: Engine, definition: CampaignDefinition) -> None:
    periods = build_periods(definition)
    cities = list(definition.reporting_units)
    for index, city in enumerate(cities):
        for session in session_scope(engine):
            for period in periods:
                for table, values in (
                    ("t1", t1_values(period.index * 10 + index % 7)),
                    ("t2", t2_values(period.index)),
                ):
                    if not reports(index, len(cities), table, period.index):
                        continue
                    key = snapshots.SnapshotKey(definition.id, city, table, period.id)
                    target = snapshots.resolve_target(session, definition, key)
                    # From 5 hours early to an hour late.
                    received = period.due + timedelta(hours=index % 7 - 5)
                    snapshots.submit_snapshot(
                        session,
                        definition,
                        target,
                        snapshots.Submission(
                            raw=values,
                            note=None,
                            source="api",
                            submitted_by="bench",
                            received_at=received.astimezone(UTC),
                        ),
                    )


def load_other_deliverables(engine: Engine, definition: CampaignDefinition) -> int:
    """Contacts, weekly highlight cases and documents, early and late; returns the cases."""
    periods = build_periods(definition)
    cases = 0
    for index, city in enumerate(definition.reporting_units):
        for session in session_scope(engine):
            scope = resolve_scope(session, definition.id, city)
            county = min(scope.counties)
            if index % 4 != 3:
                put_contact(
                    session,
                    scope,
                    ContactIn(name="王敏", phone="025-83201234", email="jiuye@nanjing.gov.cn"),
                    receipt(local(date(2024, 1, 26), 17, 30) + timedelta(hours=index % 5 - 3)),
                )
            for period in periods:
                count = (index + period.index) % 5
                for k in range(count):
                    # With four cases the second is urgent: the third counted is the fourth.
                    urgent = count == 4 and k == 1
                    data = CaseIn(
                        period=period.id,
                        title=f"亮点 {k}",
                        text="案例正文",
                        county=county,
                        activity="visit",
                        urgent=urgent,
                    ).model_dump()
                    late = timedelta(hours=7 * k - 15 + 3 * (index % 4))
                    create_case(session, scope, data, receipt(period.due + late))
                    cases += 1
            documents = []
            if index % 3 != 2:
                stage = local(date(2024, 2, 29), 17, 30) + timedelta(hours=index % 5 - 3)
                documents += [
                    ("stage_report", stage),
                    ("stage_report", stage + timedelta(days=3)),
                ]
            if index % 2 == 0:
                final = local(date(2024, 4, 10), 17, 30) + timedelta(hours=index % 5 - 3)
                documents.append(("final_summary", final))
            if index % 5 == 0:
                documents.append(("other", local(date(2024, 2, 1), 9)))
            for kind, at in documents:
                submit_document(
                    session, scope, DocumentIn(kind=kind, title="报告", text="正文"), receipt(at)
                )
    return cases


def receipt(at: datetime) -> Receipt:
    return Receipt("bench", at.astimezone(UTC))


def load_events(engine: Engine, definition: CampaignDefinition, per_county_week: int) -> int:
    periods = build_periods(definition)
    events = 0
    for city in definition.reporting_units:
        for session in session_scope(engine):
            scope = resolve_scope(session, definition.id, city)
        items = [
            {
                "external_id": f"{county}-{period.id}-{n}",
                "county": county,
                "name": f"招聘会 {n}",
                "start_date": (period.start + timedelta(days=n % period.days)).isoformat(),
                "end_date": (period.start + timedelta(days=n % period.days)).isoformat(),
                "mode": "online" if n % 3 else "offline",
            }
            for county in sorted(scope.counties)
            for period in periods
            for n in range(per_county_week)
        ]
        for offset in range(0, len(items), BATCH):
            for session in session_scope(engine):
                ingest(
                    session,
                    scope,
                    items[offset : offset + BATCH],
                    Receipt("bench", datetime(2024, 4, 8, tzinfo=UTC)),
                    atomic=True,
                )
        events += len(items)
    return events


def already_loaded(engine: Engine, campaign: str) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT count(*) FROM snapshot_head WHERE campaign_id = :id"), {"id": campaign}
        ).scalar_one()
    return bool(found)


def load(kind: str, engine: Engine, shape: Shape, per_county_week: int) -> None:
    if already_loaded(engine, shape.campaign):
        print(f"{kind}: reusing the {shape.name} season already loaded")
        return
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp())
    try:
        for session in session_scope(engine):
            if shape.synthetic:
                cities = national_cities()
                write_regions(workdir / "regions.csv", national_counties(cities))
                write_definition(workdir, shape.campaign, cities)
                load_campaigns(session, workdir)
            else:
                load_campaigns(session)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for session in session_scope(engine):
        definition = get_definition(session, shape.campaign)
    load_snapshots(engine, definition)
    cases = load_other_deliverables(engine, definition)
    events = load_events(engine, definition, per_county_week)
    if engine.dialect.name == "postgresql":
        # Fresh statistics, as autovacuum would gather within a minute of such a load.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    print(
        f"{kind}: loaded {len(definition.reporting_units)} cities × 2 tables × 12 weeks, "
        f"{cases:,} cases and {events:,} events in {time.perf_counter() - started:.0f} s"
    )


# --- the views and their references ---------------------------------------------------


def view_paths(campaign: str) -> dict[str, str]:
    base = f"/api/v1/campaigns/{campaign}"
    return {
        "totals": f"{base}/totals?table=t1&period=W12",
        "goals": f"{base}/goals?at={quoted(GOALS_AT)}",
        "compliance": f"{base}/compliance?at={quoted(COMPLIANCE_AT)}",
    }


def quoted(instant: datetime) -> str:
    return instant.isoformat().replace("+", "%2B")


def references(engine: Engine, campaign: str) -> dict[str, list[reference_sql.Reference]]:
    """view -> [the reference timed against it, further cross-checks]."""
    for session in session_scope(engine):
        definition = get_definition(session, campaign)
    periods = build_periods(definition)
    at_day = GOALS_AT.astimezone(definition.zone).date()
    return {
        "totals": [reference_sql.totals(engine, definition, "t1", "W12")],
        "goals": [
            reference_sql.goals(engine, definition, periods, at_day),
            reference_sql.registry_counts(engine, definition, periods, at_day),
        ],
        "compliance": [
            reference_sql.compliance(
                engine, definition, build_deadlines(definition, periods), COMPLIANCE_AT
            )
        ],
    }


def check_answers(
    base: str,
    headers: dict[str, str],
    paths: dict[str, str],
    refs: dict[str, list[reference_sql.Reference]],
) -> dict[str, float]:
    """Each reference against the API's answer at the same instant (nothing is written in
    between); stops the bench on any difference. Returns the cross-checks' p50 (ms)."""
    extra: dict[str, float] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for view, path in paths.items():
            response = client.get(path)
            response.raise_for_status()
            answer = response.json()
            for ref in refs[view]:
                differences = ref.check(answer, ref.run())
                if differences:
                    shown = "\n    ".join(differences[:20])
                    raise SystemExit(
                        f"{ref.view}: the hand-written SQL and the API disagree "
                        f"({len(differences)} differences):\n    {shown}"
                    )
            for ref in refs[view][1:]:
                extra[ref.view] = statistics.median(timed_calls(ref.run, 5))
    return extra


def describe(answer: dict[str, Any], view: str) -> str:
    if view == "totals":
        return f"{sum(len(i['cities']) for i in answer['items'])} city values"
    if view == "goals":
        events = answer["county_events"]
        return (
            f"postings {answer['postings']['actual']} at {answer['postings']['basis_period']}, "
            f"{events['county_weeks']} county-weeks"
        )
    statuses: dict[str, int] = {}
    for item in answer["items"]:
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    return f"{len(answer['items'])} judgements {statuses}"


def timed_calls(call: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


# --- over HTTP --------------------------------------------------------------------------


@dataclass
class Samples:
    healthz: list[float] = field(default_factory=list)
    fresh: list[float] = field(default_factory=list)
    # a query this server has not answered yet: computed through the view's route
    first: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)  # on the driver
    core: list[float] = field(default_factory=list)  # through SQLAlchemy Core
    memo: list[float] = field(default_factory=list)
    revalidated: list[float] = field(default_factory=list)


def side_by_side(
    engine: Engine,
    base: str,
    viewer: dict[str, str],
    writer: dict[str, str],
    path: str,
    put_path: str,
    reference: reference_sql.Reference,
    requests: int,
) -> Samples:
    samples = Samples()
    with httpx.Client(base_url=base, timeout=120) as client:

        def get(url: str, **headers: str) -> httpx.Response:
            started = time.perf_counter()
            response = client.get(url, headers=viewer | headers)
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            response.extensions["bench_ms"] = elapsed
            return response

        driver = reference_sql.on_driver(engine, reference)
        # Warm-up: connections, statement caches (psycopg prepares a statement on its
        # sixth run, for the service as for these), imports.
        for _ in range(6):
            get("/healthz")
            get(path).raise_for_status()
            reference.run()
            driver()
        previous = None
        for n in range(requests):
            client.put(
                put_path, headers=writer, json={"values": t1_values(1000 + n)}
            ).raise_for_status()
            etag = ""

            def health() -> None:
                response = get("/healthz")
                response.raise_for_status()
                samples.healthz.append(response.extensions["bench_ms"])

            def fresh() -> None:
                nonlocal etag
                response = get(path)
                response.raise_for_status()
                etag = response.headers["ETag"]
                samples.fresh.append(response.extensions["bench_ms"])

            def first(round_: int = n) -> None:
                # An extra parameter the view ignores: a new path and query for the server.
                response = get(f"{path}&first={round_}")
                response.raise_for_status()
                samples.first.append(response.extensions["bench_ms"])

            def sql() -> None:
                samples.sql.extend(timed_calls(driver, 1))

            def core() -> None:
                samples.core.extend(timed_calls(reference.run, 1))

            steps = [health, fresh, first, sql, core]
            for step in steps[n % 5 :] + steps[: n % 5]:
                step()
            # Computed afresh: the PUT changed the campaign's change counter, so the ETag
            # (and the memo key) differ from the previous round's.
            assert etag != previous, "the view was not computed afresh"
            previous = etag
            served = get(path)
            assert served.status_code == 200 and served.headers["ETag"] == etag
            samples.memo.append(served.extensions["bench_ms"])
            revalidated = get(path, **{"If-None-Match": etag})
            assert revalidated.status_code == 304, revalidated.status_code
            samples.revalidated.append(revalidated.extensions["bench_ms"])
    return samples


# --- in-process breakdown ---------------------------------------------------------------


class Stopwatch:
    """Time spent in chosen functions during one request, by label (nested labels
    overlap: `sql` is part of `view`)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        # when the view's handler body ran; None: the remembered answer was served without it
        self.handler: tuple[float, float] | None = None

    def bracket(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.handler = (started, time.perf_counter())

        return timed

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[label] = (
                    self.spent.get(label, 0.0) + (time.perf_counter() - started) * 1000
                )

        return timed


VIEW_FUNCTIONS = {"totals": "totals_view", "goals": "goals_view", "compliance": "compliance_view"}
# (module or class, attribute, label); nested labels overlap (`sql` is part of `view`).
PARTS: list[tuple[Any, str, str]] = [
    (sources_module, "_rows", "sql"),  # every read of app/computed/sources.py
    (views_module, "county_list", "sql"),
    (names_module, "names_of", "names sql"),
    (answers_module, "named", "names"),
    (answers_module, "encode", "encode"),
    (memo_module, "compress", "gzip"),
    (memo_module, "change_token", "change token"),
    (remembered_module, "read_change_token", "change token"),
    (memo_module, "view_etag", "etag"),
    (answers_module, "get_definition", "definition"),
    (dependencies_module, "decode_access_token", "jwt"),
    (Session, "commit", "commit"),
]
OUTSIDE_VIEW = ("view", "names", "encode", "gzip", "change token", "etag", "definition", "jwt")
ORDER = [
    "request",
    "view",
    "sql",
    "python in view",
    "names",
    "names sql",
    "encode",
    "gzip",
    "jwt",
    "change token",
    "etag",
    "commit",
    "definition",
    "rest",
    "before handler",
    "other in handler",
    "after handler",
]


@contextmanager
def instrumented(view: str, watch: Stopwatch) -> Iterator[None]:
    patches = [(views_module, VIEW_FUNCTIONS[view], "view"), *PARTS]
    handler_end = "answer_view"  # every view's handler ends in it, in its worker thread
    bracketed = getattr(router_module, handler_end)
    originals = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in patches]
    for owner, name, label in patches:
        setattr(owner, name, watch.wrap(label, getattr(owner, name)))
    setattr(router_module, handler_end, watch.bracket(bracketed))
    try:
        yield
    finally:
        setattr(router_module, handler_end, bracketed)
        for owner, name, original in originals:
            if original is None:
                delattr(owner, name)  # inherited: uncover it again
            else:
                setattr(owner, name, original)


def breakdown(app: Any, headers: dict[str, str], view: str, path: str, requests: int) -> str:
    """Median ms per part of a fresh request (memo emptied before it), then of a memo-served
    one, in-process, next to `GET /healthz` in-process. `rest`: what no part covers (the
    framework, middleware, the thread hops, the in-process transport); of it, `before
    handler`: from the request to the handler's body (routing, middleware, dependencies but
    the JWT, the hop to a worker thread), `after handler`: from its return to the client's
    last byte (the hop back, middleware, the transport)."""
    parts: dict[str, dict[str, list[float]]] = {"fresh": {}, "memo": {}}
    health: list[float] = []

    async def request(kind: str, client: httpx.AsyncClient) -> None:
        watch = Stopwatch()
        with instrumented(view, watch):
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            total = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.text
        spent = dict(watch.spent)
        spent["request"] = total
        if "view" in spent:
            spent["python in view"] = spent["view"] - spent.get("sql", 0.0)
        spent["rest"] = total - sum(spent.get(k, 0.0) for k in OUTSIDE_VIEW)
        if watch.handler is not None:
            entered, left = watch.handler
            spent["before handler"] = (entered - started) * 1000 - spent.get("jwt", 0.0)
            spent["after handler"] = total - (left - started) * 1000
            spent["other in handler"] = (
                spent["rest"] - spent["before handler"] - spent["after handler"]
            )
        for label, value in spent.items():
            parts[kind].setdefault(label, []).append(value)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        # The app's lifespan runs, as under uvicorn (ASGITransport alone skips it).
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):
            await client.get(path, headers=headers)  # warm-up
            for _ in range(requests):
                memo.clear()
                await request("fresh", client)
                await request("memo", client)
                started = time.perf_counter()
                (await client.get("/healthz")).raise_for_status()
                health.append((time.perf_counter() - started) * 1000)

    asyncio.run(run())
    lines = [f"healthz {statistics.median(health):.2f}"]
    for kind, found in parts.items():
        lines.append(
            f"{kind}: "
            + ", ".join(
                f"{label} {statistics.median(found[label]):.2f}"
                for label in ORDER
                if label in found
            )
        )
    return "; ".join(lines)


# --- a run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    database: str
    view: str
    healthz: float
    fresh: float
    fresh_p95: float
    first: float  # a query not answered before: through the route
    sql: float  # on the driver: the yardstick
    core: float  # the same statements through SQLAlchemy Core
    memo: float
    revalidated: float

    @classmethod
    def of(cls, database: str, view: str, s: Samples) -> "Row":
        p50 = statistics.median
        return cls(
            database,
            view,
            p50(s.healthz),
            p50(s.fresh),
            percentile(s.fresh, 0.95),
            p50(s.first),
            p50(s.sql),
            p50(s.core),
            p50(s.memo),
            p50(s.revalidated),
        )

    @property
    def bound(self) -> float:
        return self.healthz + 2 * self.sql

    def line(self) -> str:
        fresh_ok = "yes" if self.fresh <= self.bound else "**no**"
        first_ok = "yes" if self.first <= self.bound else "**no**"
        memo_ok = "yes" if self.memo <= self.healthz + 1 else "**no**"
        revalidated_ok = "yes" if self.revalidated <= self.healthz + 1 else "**no**"
        return (
            f"| {self.database} | {self.view} | {self.healthz:.2f} | {self.fresh:.1f} "
            f"({self.fresh_p95:.1f}) | {self.sql:.2f} | {self.core:.2f} | {self.bound:.1f} | "
            f"{fresh_ok} ({self.fresh / self.bound:.2f}×) | {self.first:.1f} {first_ok} "
            f"({self.first / self.bound:.2f}×) | {self.memo:.2f} {memo_ok} | "
            f"{self.revalidated:.2f} {revalidated_ok} |"
        )


HEADER = (
    "| database | view | healthz p50 | fresh view p50 (p95) | SQL p50 (driver) | SQL p50 (Core) "
    "| healthz + 2×SQL | fresh ≤ bound | first request p50 ≤ bound | memo p50 ≤ healthz + 1 "
    "| 304 p50 ≤ healthz + 1 |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def run(
    kind: str, url: str, shape: Shape, per_county_week: int, requests: int, details: bool
) -> list[Row]:
    settings = bench_settings(url)
    upgrade_to_head(settings.sqlalchemy_url)
    engine = create_db_engine(settings.sqlalchemy_url)
    # The hand-written SQL reads as the service's readers do (on SQLite: a second pool
    # whose transactions never take the write lock).
    reader = create_read_engine(engine)
    rows: list[Row] = []
    try:
        load(kind, engine, shape, per_county_week)
        viewer = {"Authorization": f"Bearer {token_for(settings, Role.viewer, None)}"}
        writer = {"Authorization": f"Bearer {token_for(settings, Role.admin, None)}"}
        paths = view_paths(shape.campaign)
        refs = references(reader, shape.campaign)
        for session in session_scope(engine):
            first_city = get_definition(session, shape.campaign).reporting_units[0]
        put_path = f"/api/v1/campaigns/{shape.campaign}/cities/{first_city}/tables/t1/periods/W12"
        with live_server(settings) as base:
            extra = check_answers(base, viewer, paths, refs)
            with httpx.Client(base_url=base, headers=viewer, timeout=120) as client:
                for view, path in paths.items():
                    print(f"  {view}: {describe(client.get(path).json(), view)}")
            print(
                "  each reference SQL gives the API's answer (checked before timing); "
                + ", ".join(f"{name} p50 {ms:.0f} ms" for name, ms in extra.items())
            )
            print(HEADER)
            for view, path in paths.items():
                s = side_by_side(
                    reader, base, viewer, writer, path, put_path, refs[view][0], requests
                )
                rows.append(Row.of(kind, view, s))
                print(rows[-1].line())
            check_answers(base, viewer, paths, refs)  # again, after the writes
        if details:
            app = create_app(settings, engine)
            for view, path in paths.items():
                print(f"  {view} in-process, ms: {breakdown(app, viewer, view, path, requests)}")
    finally:
        reader.dispose()
        engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="national")
    parser.add_argument(
        "--events-per-county-week",
        type=int,
        help="default: 29 (national), 877 (province); ~1,000,000 events either way",
    )
    parser.add_argument("--requests", type=int, default=40, help="rounds per view")
    parser.add_argument("--url", help="a database to load once and reuse (kind from the URL)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the in-process breakdown")
    args = parser.parse_args()
    shape = SHAPES[args.shape]
    per_county_week = args.events_per_county_week or shape.events_per_county_week
    rows: list[Row] = []
    if args.url:
        kind = "postgresql" if args.url.startswith("postgresql") else "sqlite"
        rows += run(kind, args.url, shape, per_county_week, args.requests, not args.no_breakdown)
    else:
        for kind in ["sqlite", "postgresql"] if args.database == "both" else [args.database]:
            if kind == "postgresql" and not postgres_available():
                print("postgresql: not reachable, skipped")
                continue
            with database(kind) as url:
                rows += run(kind, url, shape, per_county_week, args.requests, not args.no_breakdown)
    print(f"\n{shape.name} shape, ms, {args.requests} rounds per view:\n{HEADER}")
    print("\n".join(row.line() for row in rows))


if __name__ == "__main__":
    main()
