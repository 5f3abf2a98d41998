"""Cross-table plausibility (SPEC §3): T1 against T2 of the same city and period, warnings
on whichever table arrives second, listed by /quality while they are open."""

import copy
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from app.campaigns.definition import (
    DefinitionError,
    Table,
    parse_definition,
    read_definition_file,
)
from app.reporting.cross_checks import cross_table_warnings, partner_tables
from app.reporting.spreadsheets import SheetSpec, build_table_workbook

Auth = Callable[..., dict[str, str]]
DEFINITION_FILE = Path(__file__).resolve().parents[1] / "app/campaigns/definitions/js-2024.yaml"
DEFINITION = read_definition_file(DEFINITION_FILE)
T1_TABLE: Table = DEFINITION.tables[0]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CAMPAIGN = "/api/v1/campaigns/js-2024"
SNAPSHOT = CAMPAIGN + "/cities/{city}/tables/{table}/periods/{period}"
NANJING = "320100"

# Plausible on their own; T1 has fewer events than T2's East-West + North-South (10 < 8 + 5).
T1 = {"fairs_total": 10, "postings_total": 5000, "workers_delivered": 300}
T2 = {"ew_fairs": 8, "ns_fairs": 5, "ew_postings": 1000, "ns_postings": 2000}


def put(
    client: TestClient,
    headers: dict[str, str],
    table: str,
    values: dict[str, Any],
    period: str = "W03",
    **params: str,
) -> httpx.Response:
    response: httpx.Response = client.put(
        SNAPSHOT.format(city=NANJING, table=table, period=period),
        json={"values": values},
        headers=headers,
        params=params,
    )
    return response


def warnings_of(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {w["rule"]: w for w in response.json()["warnings"]}


def open_warnings(
    client: TestClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    response = client.get(CAMPAIGN + "/quality", headers=headers, params={"city": NANJING} | params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["open_warnings"]
    return found


@pytest.fixture
def nanjing(auth: Auth) -> dict[str, str]:
    return auth("reporter", NANJING)


def decimals(values: dict[str, int]) -> dict[str, Decimal]:
    return {key: Decimal(value) for key, value in values.items()}


# --- the rule function itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("t1", "t2", "fired"),
    [
        ({"fairs_total": 12}, {"ew_fairs": 8, "ns_fairs": 5}, ["x_fairs"]),
        ({"fairs_total": 13}, {"ew_fairs": 8, "ns_fairs": 5}, []),
        ({"postings_total": 2999}, {"ew_postings": 1000, "ns_postings": 2000}, ["x_postings"]),
        ({"postings_total": 3000}, {"ew_postings": 1000, "ns_postings": 2000}, []),
        ({"workers_delivered": 29}, {"p2p_passengers_total": 30}, ["x_delivered"]),
        ({"workers_delivered": 30}, {"p2p_passengers_total": 30}, []),
        ({}, {"p2p_bus_passengers": 1, "p2p_bus_trips": 0}, ["x_trips", "x_bus_load"]),
        ({}, {"p2p_train_passengers": 1, "p2p_train_trips": 0}, ["x_trips"]),
        ({}, {"p2p_flight_passengers": 1, "p2p_flight_trips": 0}, ["x_trips"]),
        ({}, {"p2p_flight_passengers": 0, "p2p_flight_trips": 0}, []),
        ({}, {"p2p_train_passengers": 900, "p2p_train_trips": 1}, []),
        ({}, {"p2p_bus_passengers": 120, "p2p_bus_trips": 2}, []),
        ({}, {"p2p_bus_passengers": 121, "p2p_bus_trips": 2}, ["x_bus_load"]),
    ],
)
def test_each_rule_fires_exactly_when_its_condition_holds(
    t1: dict[str, int], t2: dict[str, int], fired: list[str]
) -> None:
    values = {"t1": decimals(t1), "t2": decimals(t2)}

    assert [v.rule for v in cross_table_warnings(DEFINITION, "t2", values)] == fired


@pytest.mark.parametrize(
    "values",
    [
        {"t1": {"fairs_total": 1}},  # T2 not reported at all
        {"t1": {"fairs_total": 1}, "t2": {"ew_fairs": 8}},  # ns_fairs not reported
        {"t1": {"postings_total": 1}, "t2": {"ew_fairs": 8, "ns_fairs": 5}},  # other keys
        {"t2": {"p2p_bus_passengers": 5}},  # trips not reported: not the same as 0
    ],
)
def test_a_rule_with_a_side_not_reported_stays_silent(values: dict[str, dict[str, int]]) -> None:
    known = {table: decimals(v) for table, v in values.items()}

    assert cross_table_warnings(DEFINITION, "t2", known) == []
    assert cross_table_warnings(DEFINITION, "t1", known) == []


def test_a_warning_names_both_tables_their_keys_values_and_labels() -> None:
    values = {"t1": decimals({"fairs_total": 10}), "t2": decimals({"ew_fairs": 8, "ns_fairs": 5})}

    (warning,) = cross_table_warnings(DEFINITION, "t1", values)

    assert warning.severity.value == "warning"
    assert warning.keys == ("t1.fairs_total", "t2.ew_fairs", "t2.ns_fairs")
    assert warning.values == {"t1.fairs_total": "10", "t2.ew_fairs": "8", "t2.ns_fairs": "5"}
    assert warning.message_en.endswith("(t1.fairs_total = 10; t2.ew_fairs + t2.ns_fairs = 13)")
    assert "附件1 举办各类招聘活动 (t1.fairs_total=10)" in warning.message_zh
    assert "附件2 举办南北劳务协作招聘 (t2.ns_fairs=5) = 13" in warning.message_zh


def test_a_factor_is_shown_with_its_term() -> None:
    values = {"t2": decimals({"p2p_bus_passengers": 61, "p2p_bus_trips": 1})}

    (warning,) = cross_table_warnings(DEFINITION, "t2", values)

    assert warning.rule == "x_bus_load"
    assert warning.message_en.endswith("(t2.p2p_bus_passengers = 61; 60 × t2.p2p_bus_trips = 60)")
    assert "60 × 附件2 “点对点”包车 (t2.p2p_bus_trips=1) = 60" in warning.message_zh


def test_only_the_rules_involving_the_written_table_are_checked() -> None:
    values = {"t2": decimals({"p2p_bus_passengers": 5, "p2p_bus_trips": 0})}

    assert cross_table_warnings(DEFINITION, "t1", values) == []
    assert partner_tables(DEFINITION, "t1") == {"t2"}
    assert partner_tables(DEFINITION, "t2") == {"t1"}


# --- the rules are data in the definition ---------------------------------------------------


def raw_definition() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DEFINITION_FILE.read_text(encoding="utf-8"))
    return loaded


def test_the_shipped_definition_has_the_spec_rule_ids() -> None:
    assert [r.id for r in DEFINITION.cross_rules] == [
        "x_fairs",
        "x_postings",
        "x_delivered",
        "x_trips",
        "x_trips",
        "x_trips",
        "x_bus_load",
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["cross_rules"][0]["right"].append({"table": "t2", "key": "ghost"}),
            "unknown indicators ['t2.ghost']",
        ),
        (
            lambda d: d["cross_rules"][0]["left"][0].update(table="t9"),
            "unknown indicators ['t9.fairs_total']",
        ),
        (lambda d: d["cross_rules"][0].update(id="t1.fairs_split"), "table rule ids too"),
        (lambda d: d["cross_rules"][0]["right"][0].update(factor=0), "factor"),
        (lambda d: d["cross_rules"][0].update(operator="lt"), "operator"),
    ],
)
def test_a_bad_cross_rule_is_refused_naming_it(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    document = copy.deepcopy(raw_definition())
    mutate(document)

    with pytest.raises(DefinitionError) as caught:
        parse_definition(document, "broken.yaml")
    assert "broken.yaml" in str(caught.value) and expected in str(caught.value)


# --- over the API ---------------------------------------------------------------------------


def test_the_table_arriving_second_gets_the_warning(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    first = put(client, nanjing, "t1", T1)
    assert warnings_of(first) == {} and first.json()["status"] == "accepted"

    second = put(client, nanjing, "t2", T2)

    assert second.json()["status"] == "accepted_with_warnings"
    assert warnings_of(second)["x_fairs"] == {
        "rule": "x_fairs",
        "severity": "warning",
        "keys": ["t1.fairs_total", "t2.ew_fairs", "t2.ns_fairs"],
        "values": {"t1.fairs_total": "10", "t2.ew_fairs": "8", "t2.ns_fairs": "5"},
        "message_zh": warnings_of(second)["x_fairs"]["message_zh"],
        "message_en": "T1 recruitment events should not be fewer than T2's East-West plus "
        "North-South events (t1.fairs_total = 10; t2.ew_fairs + t2.ns_fairs = 13)",
    }
    assert set(warnings_of(second)) == {"x_fairs"}  # postings: 5000 ≥ 3000
    stored = client.get(SNAPSHOT.format(city=NANJING, table="t2", period="W03"), headers=nanjing)
    assert [w["rule"] for w in stored.json()["warnings"]] == ["x_fairs"]


def test_either_order_works(client: TestClient, nanjing: dict[str, str]) -> None:
    assert warnings_of(put(client, nanjing, "t2", T2)) == {}

    second = put(client, nanjing, "t1", T1)

    assert set(warnings_of(second)) == {"x_fairs"}
    assert second.json()["status"] == "accepted_with_warnings"


def test_other_periods_and_missing_keys_do_not_count(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    put(client, nanjing, "t1", T1, period="W02")
    assert warnings_of(put(client, nanjing, "t2", T2, period="W03")) == {}
    # T1 for W03 without the events column: x_fairs cannot be judged yet.
    assert warnings_of(put(client, nanjing, "t1", {"postings_total": 5000})) == {}


def test_strict_mode_refuses_a_cross_table_warning(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    put(client, nanjing, "t1", T1)

    refused = put(client, nanjing, "t2", T2, strict="true")

    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert (error["rule"], error["field"]) == ("x_fairs", "values")
    assert error["keys"] == ["t1.fairs_total", "t2.ew_fairs", "t2.ns_fairs"]
    missing = client.get(SNAPSHOT.format(city=NANJING, table="t2", period="W03"), headers=nanjing)
    assert missing.status_code == 404


def test_t2_only_rules_warn_without_t1(client: TestClient, nanjing: dict[str, str]) -> None:
    values = {"p2p_bus_trips": 0, "p2p_bus_passengers": 45, "p2p_train_trips": 0}

    found = put(client, nanjing, "t2", values)

    assert warnings_of(found)["x_trips"]["keys"] == ["t2.p2p_bus_passengers", "t2.p2p_bus_trips"]
    assert set(warnings_of(found)) == {"x_trips", "x_bus_load"}


def test_quality_lists_open_ones_until_the_other_table_is_corrected(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    put(client, nanjing, "t1", T1)
    put(client, nanjing, "t2", T2)

    (listed,) = open_warnings(client, nanjing)
    assert {k: listed[k] for k in ("table", "period", "revision", "rule")} == {
        "table": "t2",
        "period": "W03",
        "revision": 1,
        "rule": "x_fairs",
    }
    assert listed["keys"] == ["t1.fairs_total", "t2.ew_fairs", "t2.ns_fairs"]
    assert listed["values"] == {"t1.fairs_total": "10", "t2.ew_fairs": "8", "t2.ns_fairs": "5"}
    assert "附件1 举办各类招聘活动" in listed["message_zh"]
    t2_received = client.get(
        SNAPSHOT.format(city=NANJING, table="t2", period="W03"), headers=nanjing
    ).json()["received_at"]
    # T1 corrected: nothing changes in T2, yet the warning stored on its revision is closed.
    corrected = put(client, nanjing, "t1", T1 | {"fairs_total": 13})
    assert warnings_of(corrected) == {}

    assert open_warnings(client, nanjing) == []
    assert open_warnings(client, nanjing, as_of=t2_received) == [listed]


def test_a_worse_correction_of_the_first_table_moves_the_warning_to_it(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    put(client, nanjing, "t1", T1)
    put(client, nanjing, "t2", T2)

    again = put(client, nanjing, "t1", T1 | {"fairs_total": 9})

    assert warnings_of(again)["x_fairs"]["values"]["t1.fairs_total"] == "9"
    (listed,) = open_warnings(client, nanjing)
    assert (listed["table"], listed["revision"], listed["rule"]) == ("t1", 2, "x_fairs")
    assert listed["values"]["t1.fairs_total"] == "9"


IMPORTED_T1 = {"fairs_total": 10, "workers_delivered": 20}


def xlsx(values: dict[str, int]) -> bytes:
    return build_table_workbook(
        [SheetSpec("附件1", T1_TABLE, DEFINITION.name_zh, "南京市人社局", values=decimals(values))]
    )


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("t1.csv", b"key,value\nfairs_total,10\nworkers_delivered,20\n", "text/csv"),
        ("t1.xlsx", xlsx(IMPORTED_T1), XLSX),
    ],
)
def test_imports_go_through_the_same_checks(
    client: TestClient, nanjing: dict[str, str], name: str, data: bytes, content_type: str
) -> None:
    put(client, nanjing, "t2", T2 | {"p2p_passengers_total": 30})

    imported = client.post(
        CAMPAIGN + f"/cities/{NANJING}/tables/t1/imports",
        params={"period": "W03"},
        files={"file": (name, data, content_type)},
        headers=nanjing,
    )

    assert warnings_of(imported).keys() == {"x_fairs", "x_delivered"}
    assert imported.json()["status"] == "accepted_with_warnings"
    assert imported.json()["values"] == IMPORTED_T1
    assert {w["rule"] for w in open_warnings(client, nanjing)} == {"x_fairs", "x_delivered"}
