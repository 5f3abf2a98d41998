"""One hand-written SQL answer per computed view, the yardstick the views are timed against.

Each reference answers what its view answers, on the same tables the service reads, in as
few statements as an engineer writing a report by hand would use, with the rows fetched
into Python (a client that asks gets them):

- `/totals`: each reporting city's latest value of every indicator of a table at or before
  the period (carried forward), with its period and revision, and the province total;
- `/goals`: the postings figure (each city's latest `postings_total` up to the basis period,
  the latest started period anyone reported, and their sum) and the county × period events
  matrix (every county of the reporting cities × every started period: events of the
  goal's modes, whether the week's requirement is met), with region names. The events come
  from the per-county-period tally the registry keeps (`event_tally`), as the service's do;
  `registry_counts` counts the same cells from the million events by start date instead, as
  a cross-check of the tally (and a figure for what the tally saves);
- `/compliance`: every reporting city × every deliverable instance: its first receipt (a
  table's first accepted revision, the n-th non-urgent case of the week, the contact, the
  first document of the kind) against its due instant → on_time / late / missing / not_due,
  with how late and the table's completeness.

Parameters computed in Python from the campaign definition (as the service computes them):
the reporting cities, the periods that have started (ids, requirements, whether in progress),
each deliverable instance's due instant, and for `registry_counts` the period boundaries.
Period ids are zero-padded ("W01" … "W12"), so their text order is their order.

Plain `text()` SQL that runs on SQLite and PostgreSQL; dialect branches only for JSON
unnesting (`json_each` / `jsonb_each_text`) and seconds between two instants.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Engine, Integer, String, bindparam, event, text

from app.campaigns.calendar import Deadline, Period
from app.campaigns.definition import CampaignDefinition
from app.computed.goals import required_events
from app.core.types import UTCDateTime

Rows = list[Any]


@dataclass(frozen=True)
class Reference:
    """A view's hand-written SQL: `run` executes it and returns its answer; `check` lists
    the differences between that answer and the API's JSON body (empty: the same)."""

    view: str
    run: Callable[[], Any]
    check: Callable[[Mapping[str, Any], Any], list[str]]


def on_driver(engine: Engine, reference: Reference) -> Callable[[], list[Any]]:
    """The reference's statements exactly as SQLAlchemy hands them to the DB-API driver
    (captured from one run), replayed on a pooled connection in one transaction, every row
    fetched: the database's work and the rows' transfer into Python, without SQLAlchemy's
    statement and result handling. The figure the views are held to (the stricter one)."""
    sent: list[tuple[str, Any]] = []

    def capture(connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT")):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        reference.run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    sqlite = engine.dialect.name == "sqlite"

    def run() -> list[Any]:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            if sqlite:  # the read engine's connections are in autocommit mode
                cursor.execute("BEGIN")
            answer = []
            for statement, parameters in sent:
                cursor.execute(statement, parameters)
                answer.append(cursor.fetchall())
            connection.rollback()
            return answer
        finally:
            connection.close()

    return run


def _number(value: Any) -> Decimal:
    return Decimal(str(value))


def _same_number(a: Any, b: Any) -> bool:
    """Exact for whole numbers; SQLite has no exact decimal type, so fractional sums it
    computes in floating point are compared to 1e-9 relative."""
    x, y = _number(a), _number(b)
    return x == y or abs(x - y) <= abs(y) * Decimal("1e-9")


def _instant(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _differences(
    what: str, api: Mapping[Any, Any], sql: Mapping[Any, Any], same: Callable[[Any, Any], bool]
) -> list[str]:
    found = [f"{what} {key}: API has it, SQL does not" for key in api.keys() - sql.keys()]
    found += [f"{what} {key}: SQL has it, API does not" for key in sql.keys() - api.keys()]
    found += [
        f"{what} {key}: API {api[key]!r}, SQL {sql[key]!r}"
        for key in api.keys() & sql.keys()
        if not same(api[key], sql[key])
    ]
    return found


def _values_table(
    name: str, columns: Sequence[tuple[str, Any]], rows: Sequence[Sequence[Any]]
) -> tuple[str, list[Any]]:
    """A derived table of parameters, `SELECT … UNION ALL SELECT …`, which both databases
    accept (their VALUES lists differ in how columns are named); each column is cast or
    typed, so PostgreSQL knows the types of parameters it sees only in a union."""
    selects = []
    parameters: list[Any] = []
    for index, row in enumerate(rows):
        fields = []
        for (column, kind), value in zip(columns, row, strict=True):
            key = f"{name}_{column}_{index}"
            if isinstance(kind, str):
                fields.append(f"CAST(:{key} AS {kind}) AS {column}")
                parameters.append(bindparam(key, value))
            else:  # a SQLAlchemy type: bound through it (SQLite keeps instants as text)
                fields.append(f":{key} AS {column}")
                parameters.append(bindparam(key, value, type_=kind))
        selects.append("SELECT " + ", ".join(fields))
    return "\nUNION ALL ".join(selects), parameters


def _prepared(sql: str, *parameters: Any, **columns: Any) -> Any:
    """The statement, with result types for columns that need converting (instants)."""
    statement = text(sql).bindparams(*parameters)
    return statement.columns(**columns) if columns else statement


def _expanding(name: str, values: Sequence[Any]) -> Any:
    return bindparam(name, list(values), expanding=True)


# --- /totals ---------------------------------------------------------------------------


def totals(engine: Engine, definition: CampaignDefinition, table: str, period: str) -> Reference:
    """Province totals of one table at one period, with the per-city breakdown."""
    postgres = engine.dialect.name == "postgresql"
    values = "jsonb_each_text(h.current_values)" if postgres else "json_each(h.current_values)"
    statement = _prepared(
        f"""
        WITH v AS (
            SELECT h.city_code, h.period_id, h.current_revision, j.key AS indicator,
                   CAST(j.value AS NUMERIC) AS value
            FROM snapshot_head h, {values} j
            WHERE h.campaign_id = :campaign AND h.table_id = :table
              AND h.current_revision > 0 AND h.period_id <= :period
              AND h.city_code IN :cities),
        ranked AS (
            SELECT city_code, period_id, current_revision, indicator, value,
                   row_number() OVER (
                       PARTITION BY city_code, indicator ORDER BY period_id DESC) AS rank
            FROM v)
        SELECT indicator, city_code, value, period_id, current_revision,
               sum(value) OVER (PARTITION BY indicator) AS total
        FROM ranked WHERE rank = 1
        ORDER BY indicator, city_code""",  # noqa: S608 (fixed fragments chosen by dialect)
        bindparam("campaign", definition.id),
        bindparam("table", table),
        bindparam("period", period),
        _expanding("cities", definition.reporting_units),
    )

    def run() -> Rows:
        with engine.connect() as connection:
            return list(connection.execute(statement).all())

    cities = list(definition.reporting_units)
    keys = [i.key for t in definition.tables if t.id == table for i in t.indicators]

    def check(api: Mapping[str, Any], rows: Rows) -> list[str]:
        found: list[str] = []
        if api["period"] != period:
            found.append(f"period: API {api['period']}, reference {period}")
        by_indicator: dict[str, list[Any]] = {}
        for row in rows:
            by_indicator.setdefault(row.indicator, []).append(row)
        items = {item["indicator"]: item for item in api["items"] if item["table"] == table}
        for key in keys:
            item, got = items.get(key), by_indicator.get(key, [])
            if item is None:
                found.append(f"indicator {key}: not in the API's answer")
                continue
            total = got[0].total if got else None
            if (item["total"] is None) != (total is None) or (
                total is not None and not _same_number(item["total"], total)
            ):
                found.append(f"{key} total: API {item['total']}, SQL {total}")
            found += _differences(
                f"{key} city",
                {c["city"]: (c["value"], c["period"], c["revision"]) for c in item["cities"]},
                {r.city_code: (r.value, r.period_id, r.current_revision) for r in got},
                lambda a, b: _same_number(a[0], b[0]) and a[1:] == b[1:],
            )
            stale = sorted(r.city_code for r in got if r.period_id != period)
            missing = sorted(set(cities) - {r.city_code for r in got})
            if sorted(item["stale"]) != stale or sorted(item["missing"]) != missing:
                found.append(f"{key}: stale/missing cities differ")
        return found

    return Reference("totals", run, check)


# --- /goals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalsAnswer:
    postings: Rows  # (basis, city_code, period_id, value, actual); one row, nulls, if none
    matrix: Rows  # (county, county_name, city, city_name, period, events, met, in_progress)


def _started(periods: Sequence[Period], at_day: date) -> list[Period]:
    return [p for p in periods if p.start <= at_day]


def goals(
    engine: Engine, definition: CampaignDefinition, periods: Sequence[Period], at_day: date
) -> Reference:
    """Goal tracking at `at_day` (the local day of the view's `at`)."""
    goal = definition.goals
    started = _started(periods, at_day)
    cities = _expanding("cities", definition.reporting_units)
    postings = _prepared(
        """
        WITH points AS (
            SELECT city_code, period_id, CAST(current_values ->> :indicator AS NUMERIC) AS value
            FROM snapshot_head
            WHERE campaign_id = :campaign AND table_id = :table AND current_revision > 0
              AND period_id IN :started),
        basis AS (SELECT max(period_id) AS period_id FROM points WHERE value IS NOT NULL),
        latest AS (
            SELECT p.city_code, p.period_id, p.value,
                   row_number() OVER (
                       PARTITION BY p.city_code ORDER BY p.period_id DESC) AS rank
            FROM points p JOIN basis b ON p.period_id <= b.period_id
            WHERE p.value IS NOT NULL AND p.city_code IN :cities)
        SELECT b.period_id AS basis, l.city_code, l.period_id, l.value,
               sum(l.value) OVER () AS actual
        FROM basis b LEFT JOIN latest l ON l.rank = 1""",
        bindparam("campaign", definition.id),
        bindparam("table", goal.postings.table),
        bindparam("indicator", goal.postings.indicator),
        _expanding("started", [p.id for p in started]),
        cities,
    )
    weeks, weeks_parameters = _values_table(
        "w",
        [("id", "VARCHAR(8)"), ("required", "INTEGER"), ("in_progress", "INTEGER")],
        [
            (
                p.id,
                required_events(goal.county_events, p.days, p.nominal_days),
                int(p.end >= at_day),
            )
            for p in started
        ],
    )
    # The tally has one column per mode, named after it (app/events/models.py).
    counted = " + ".join(f"t.{mode}" for mode in goal.county_events.modes)
    matrix = _prepared(
        f"""
        WITH weeks AS ({weeks})
        SELECT c.code AS county, c.name AS county_name, c.parent_code AS city,
               city.name AS city_name, w.id AS period, coalesce({counted}, 0) AS events,
               coalesce({counted}, 0) >= w.required AS met, w.in_progress
        FROM region c
        JOIN region city ON city.code = c.parent_code
        CROSS JOIN weeks w
        LEFT JOIN event_tally t
          ON t.campaign_id = :campaign AND t.county_code = c.code AND t.period_id = w.id
        WHERE c.level = 'county' AND c.parent_code IN :cities
        ORDER BY c.code, w.id""",  # noqa: S608 (mode columns of the definition)
        bindparam("campaign", definition.id),
        cities,
        *weeks_parameters,
    )

    def run() -> GoalsAnswer:
        with engine.connect() as connection:
            return GoalsAnswer(
                list(connection.execute(postings).all()), list(connection.execute(matrix).all())
            )

    def check(api: Mapping[str, Any], answer: GoalsAnswer) -> list[str]:
        return _check_postings(api["postings"], answer.postings, definition) + _differences(
            "county-week",
            {
                (w["county"], w["period"]): (
                    w["events"],
                    w["met"],
                    w["in_progress"],
                    w["county_name"],
                    w["city"],
                    w["city_name"],
                )
                for w in api["county_events"]["matrix"]
            },
            {
                (r.county, r.period): (
                    r.events,
                    bool(r.met),
                    bool(r.in_progress),
                    r.county_name,
                    r.city,
                    r.city_name,
                )
                for r in answer.matrix
            },
            lambda a, b: a == b,
        )

    return Reference("goals", run, check)


def _check_postings(
    api: Mapping[str, Any], rows: Rows, definition: CampaignDefinition
) -> list[str]:
    found: list[str] = []
    basis = rows[0].basis if rows else None
    actual = rows[0].actual if rows and rows[0].actual is not None else 0
    if api["basis_period"] != basis:
        found.append(f"postings basis period: API {api['basis_period']}, SQL {basis}")
    if not _same_number(api["actual"], actual):
        found.append(f"postings actual: API {api['actual']}, SQL {actual}")
    latest = {r.city_code: r.period_id for r in rows if r.city_code is not None}
    coverage = api["coverage"]
    expected = {
        "reporting": [c for c in definition.reporting_units if latest.get(c) == basis],
        "missing": [c for c in definition.reporting_units if c not in latest],
    }
    expected["stale"] = [
        c
        for c in definition.reporting_units
        if c not in expected["reporting"] and c not in expected["missing"]
    ]
    for part, cities in expected.items():
        if coverage[part] != cities:
            found.append(f"postings coverage {part}: API {coverage[part]}, SQL {cities}")
    return found


def registry_counts(
    engine: Engine, definition: CampaignDefinition, periods: Sequence[Period], at_day: date
) -> Reference:
    """The events of the goal's modes per county and started period, counted from the
    registry itself by start date (the periods' boundaries are parameters)."""
    started = _started(periods, at_day)
    whens = " ".join(
        f"WHEN start_date <= :end_{p.index} THEN '{p.id}'" for p in started
    )  # period ids come from the definition's calendar ("W01" …)
    statement = _prepared(
        f"""
        SELECT county_code, CASE {whens} END AS period, count(*) AS events
        FROM recruitment_event
        WHERE campaign_id = :campaign AND mode IN :modes
          AND start_date >= :first AND start_date <= :last
        GROUP BY county_code, CASE {whens} END""",  # noqa: S608 (period ids, see above)
        bindparam("campaign", definition.id),
        _expanding("modes", definition.goals.county_events.modes),
        bindparam("first", started[0].start, type_=Date()),
        bindparam("last", started[-1].end, type_=Date()),
        *[bindparam(f"end_{p.index}", p.end, type_=Date()) for p in started],
    )

    def run() -> Rows:
        with engine.connect() as connection:
            return list(connection.execute(statement).all())

    def check(api: Mapping[str, Any], rows: Rows) -> list[str]:
        return _differences(
            "registry county-week",
            {
                (w["county"], w["period"]): w["events"]
                for w in api["county_events"]["matrix"]
                if w["events"]
            },
            {(r.county_code, r.period): r.events for r in rows},
            lambda a, b: a == b,
        )

    return Reference("goals (registry count)", run, check)


# --- /compliance -----------------------------------------------------------------------


def compliance(
    engine: Engine,
    definition: CampaignDefinition,
    deadlines: Sequence[Deadline],
    at: datetime,
) -> Reference:
    """Every reporting city × deliverable instance, judged at `at` (current data)."""
    by_id = {d.id: d for d in definition.deliverables}
    expected = {t.id: len(t.indicators) for t in definition.tables}
    case_counts = {
        d.min_count
        for d in definition.deliverables
        if d.schedule == "weekly" and d.table is None and d.id != "contacts"
    }

    def source(deliverable: str) -> tuple[str, str]:
        """Which receipts stand for a deliverable: (kind, key)."""
        item = by_id[deliverable]
        if item.table is not None:
            return "table", item.table
        if item.id == "contacts":
            return "contacts", ""
        if item.schedule == "weekly":
            return "cases", ""
        return "document", item.id

    # Weekly items are due at their period's due instant (an override moves all of a
    # period's items), so the deadlines are weekly deliverables × periods, plus the one-offs.
    weeks = {d.period: d.due for d in deadlines if d.period is not None}
    weekly = list(dict.fromkeys(d.deliverable for d in deadlines if d.period is not None))
    assert all(weeks[d.period] == d.due for d in deadlines if d.period is not None)

    def described(deliverable: str) -> tuple[str, str, str, int | None]:
        kind, key = source(deliverable)
        table = by_id[deliverable].table
        return deliverable, kind, key, expected[table] if table is not None else None

    item = [
        ("deliverable", "VARCHAR(32)"),
        ("kind", "VARCHAR(16)"),
        ("source", "VARCHAR(32)"),
        ("expected", "INTEGER"),
    ]
    weeks_table, weeks_parameters = _values_table(
        "w", [("period_id", "VARCHAR(8)"), ("due", UTCDateTime())], list(weeks.items())
    )
    weekly_table, weekly_parameters = _values_table(
        "k", item, [described(deliverable) for deliverable in weekly]
    )
    once_table, once_parameters = _values_table(
        "o",
        [*item, ("due", UTCDateTime())],
        [(*described(d.deliverable), d.due) for d in deadlines if d.period is None],
    )
    deadline_tables = f"""
        weeks AS ({weeks_table}),
        weekly AS ({weekly_table}),
        once AS ({once_table}),
        deadlines AS (
            SELECT k.deliverable, k.kind, k.source, w.period_id, w.due, k.expected
            FROM weekly k CROSS JOIN weeks w
            UNION ALL
            SELECT deliverable, kind, source, '', due, expected FROM once)"""  # noqa: S608
    deadline_parameters = weeks_parameters + weekly_parameters + once_parameters
    if engine.dialect.name == "postgresql":
        late_by = "CAST(floor(extract(epoch FROM r.received_at - d.due)) AS BIGINT)"
    else:
        # Whole seconds of each instant; due instants are on the minute, so this is the
        # truncated difference the service reports.
        late_by = "unixepoch(r.received_at) - unixepoch(d.due)"
    # The weekly cases need the n-th non-urgent case of the week (3 in 2024).
    (min_count,) = case_counts or {1}
    seen = "r.received_at <= :at"
    statement = _prepared(
        f"""
        WITH {deadline_tables},
        receipts AS (
            SELECT 'table' AS kind, table_id AS source, city_code, period_id,
                   first_received_at AS received_at, indicator_count AS indicators
            FROM snapshot_head
            WHERE campaign_id = :campaign AND current_revision > 0
              AND first_received_at IS NOT NULL
            UNION ALL
            SELECT 'contacts', '', city_code, '', first_received_at, NULL
            FROM city_contact WHERE campaign_id = :campaign
            UNION ALL
            SELECT 'cases', '', city_code, period_id, first_received_at, NULL
            FROM (
                SELECT city_code, period_id, first_received_at, row_number() OVER (
                    PARTITION BY city_code, period_id ORDER BY first_received_at) AS n
                FROM highlight_case WHERE campaign_id = :campaign AND NOT urgent) c
            WHERE n = :min_count
            UNION ALL
            SELECT 'document', kind, city_code, '', min(received_at), NULL
            FROM city_document WHERE campaign_id = :campaign
            GROUP BY city_code, kind)
        SELECT city.code AS city, city.name AS city_name, d.deliverable,
               NULLIF(d.period_id, '') AS period, d.due,
               CASE WHEN {seen} THEN r.received_at END AS received_at,
               CASE WHEN {seen} THEN
                        CASE WHEN r.received_at <= d.due THEN 'on_time' ELSE 'late' END
                    WHEN :at > d.due THEN 'missing' ELSE 'not_due' END AS status,
               CASE WHEN {seen} AND r.received_at > d.due THEN {late_by} END
                   AS late_by_seconds,
               CASE WHEN {seen} THEN r.indicators END AS indicators_reported,
               CASE WHEN {seen} AND r.indicators IS NOT NULL THEN d.expected END
                   AS indicators_expected
        FROM region city
        CROSS JOIN deadlines d
        LEFT JOIN receipts r
          ON r.city_code = city.code AND r.kind = d.kind AND r.source = d.source
         AND r.period_id = d.period_id
        WHERE city.code IN :cities
        ORDER BY city.code, d.deliverable, d.period_id""",  # noqa: S608 (fixed fragments)
        bindparam("campaign", definition.id),
        bindparam("min_count", min_count, type_=Integer()),
        bindparam("at", at, type_=UTCDateTime()),
        _expanding("cities", definition.reporting_units),
        *deadline_parameters,
        city=String(),
        city_name=String(),
        deliverable=String(),
        period=String(),
        due=UTCDateTime(),
        received_at=UTCDateTime(),
        status=String(),
        late_by_seconds=Integer(),
        indicators_reported=Integer(),
        indicators_expected=Integer(),
    )

    def run() -> Rows:
        with engine.connect() as connection:
            return list(connection.execute(statement).all())

    def check(api: Mapping[str, Any], answer: Rows) -> list[str]:
        return _differences(
            "judgement",
            {
                (j["city"], j["deliverable"], j["period"]): (
                    j["status"],
                    _instant(j["due"]),
                    _instant(j["received_at"]),
                    j["late_by_seconds"],
                    j["indicators_reported"],
                    j["indicators_expected"],
                    j["city_name"],
                )
                for j in api["items"]
            },
            {
                (r.city, r.deliverable, r.period): (
                    r.status,
                    r.due,
                    r.received_at,
                    r.late_by_seconds,
                    r.indicators_reported,
                    r.indicators_expected,
                    r.city_name,
                )
                for r in answer
            },
            lambda a, b: a == b,
        )

    return Reference("compliance", run, check)
