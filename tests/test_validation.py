from decimal import Decimal
from pathlib import Path

import pytest

from app.campaigns.definition import Operator, Rule, Severity, read_definition_file
from app.reporting.validation import (
    Violation,
    check_values,
    normalize_values,
    render_decimal,
    validate_snapshot,
)

DEFINITION = read_definition_file(
    Path(__file__).resolve().parent.parent / "app" / "campaigns" / "definitions" / "js-2024.yaml"
)
T1 = DEFINITION.tables[0]
T2 = DEFINITION.tables[1]
RULES = DEFINITION.rules

CONSISTENT_T1: dict[str, object] = {
    "publicity_materials": 5000,
    "fairs_total": 10,
    "fairs_online": 4,
    "fairs_offline": 6,
    "fairs_labor_brand": 2,
    "postings_total": 1200,
    "postings_online": 700,
    "postings_offline": 500,
    "postings_labor_brand": 100,
    "employment_intents": 300,
    "startup_projects_promoted": 12,
    "startup_mentoring": 40,
    "startup_sites_offered": 3,
    "startups_supported": 25,
    "key_enterprises_visited": 80,
    "workers_delivered": 150,
    "recruitment_funds": 12.5,
    "employment_subsidies": Decimal("1234.5678"),
}


def rule_ids(violations: list[Violation]) -> list[str]:
    return [violation.rule for violation in violations]


def only(violations: list[Violation], rule: str) -> Violation:
    matching = [violation for violation in violations if violation.rule == rule]
    assert len(matching) == 1, violations
    return matching[0]


def test_consistent_full_snapshot_is_clean() -> None:
    values, violations = validate_snapshot(T1, RULES, CONSISTENT_T1, None)

    assert violations == []
    assert values["fairs_total"] == Decimal(10)
    assert values["recruitment_funds"] == Decimal("12.5")
    assert values["employment_subsidies"] == Decimal("1234.5678")
    assert list(values) == list(CONSISTENT_T1)


def test_every_violation_is_reported_at_once() -> None:
    raw: dict[str, object] = {
        **CONSISTENT_T1,
        "fairs_total": 10,
        "fairs_online": 12,  # part > total
        "postings_online": 800,  # online + offline != total, a warning
        "publicity_materials": -1,
        "startups_supported": 2.5,
        "recruitment_funds": Decimal("0.12345"),
        "employment_intents": "many",
        "workers_delivered": 10**16,
        "no_such_key": 1,
    }
    previous = {"key_enterprises_visited": Decimal(81)}

    values, violations = validate_snapshot(T1, RULES, raw, previous)

    assert sorted(rule_ids(violations)) == sorted(
        [
            "negative",
            "not_integer",
            "too_many_decimals",
            "not_a_number",
            "out_of_range",
            "unknown_key",
            "part_exceeds_total",
            "t1.fairs_split",
            "t1.postings_split",
            "decrease",
        ]
    )
    rejected = {"publicity_materials", "startups_supported", "recruitment_funds"}
    rejected |= {"employment_intents", "workers_delivered", "no_such_key"}
    assert rejected.isdisjoint(values)


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("publicity_materials", -1, "negative"),
        ("recruitment_funds", Decimal("-0.5"), "negative"),
        ("publicity_materials", 1.5, "not_integer"),
        ("publicity_materials", Decimal("3.0001"), "not_integer"),
        ("recruitment_funds", Decimal("1.00001"), "too_many_decimals"),
        ("recruitment_funds", 0.1 + 0.2, "too_many_decimals"),
        ("publicity_materials", "12", "not_a_number"),
        ("publicity_materials", None, "not_a_number"),
        ("publicity_materials", [1], "not_a_number"),
        ("publicity_materials", {"value": 1}, "not_a_number"),
        ("publicity_materials", float("nan"), "out_of_range"),
        ("publicity_materials", float("inf"), "out_of_range"),
        ("recruitment_funds", Decimal("-Infinity"), "out_of_range"),
        ("recruitment_funds", Decimal("sNaN"), "out_of_range"),
        ("publicity_materials", 10**15 + 1, "out_of_range"),
        ("publicity_materials", -(10**16), "out_of_range"),
    ],
)
def test_value_rules(key: str, value: object, rule: str) -> None:
    values, violations = normalize_values(T1, {key: value})

    assert rule_ids(violations) == [rule]
    assert violations[0].severity is Severity.error
    assert violations[0].keys == (key,)
    assert values == {}


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(value: bool) -> None:
    values, violations = normalize_values(T1, {"fairs_total": value})

    violation = only(violations, "not_a_number")
    assert violation.values == {"fairs_total": "true" if value else "false"}
    assert values == {}


def test_negative_non_integer_reports_both_problems() -> None:
    _, violations = normalize_values(T1, {"fairs_total": -1.5})

    assert rule_ids(violations) == ["negative", "not_integer"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.0001"), Decimal("0.0001")),
        (Decimal("9999.9999"), Decimal("9999.9999")),
        (Decimal("1.50000"), Decimal("1.5")),
        (Decimal("1E+2"), Decimal("100")),
        (0.1, Decimal("0.1")),
        (12.0, Decimal("12")),
        (7, Decimal("7")),
        (0, Decimal("0")),
        (10**15, Decimal(10**15)),
    ],
)
def test_accepted_amounts_are_exact(value: object, expected: Decimal) -> None:
    values, violations = normalize_values(T1, {"recruitment_funds": value})

    assert violations == []
    assert values["recruitment_funds"] == expected
    assert str(values["recruitment_funds"]) == render_decimal(expected)


def test_integral_float_counts_as_integer() -> None:
    values, violations = normalize_values(
        T1, {"fairs_total": 12.0, "fairs_online": Decimal("3.00")}
    )

    assert violations == []
    assert values == {"fairs_total": Decimal(12), "fairs_online": Decimal(3)}
    assert str(values["fairs_online"]) == "3"


def test_not_a_number_shows_the_raw_value_shortened() -> None:
    _, violations = normalize_values(T1, {"fairs_total": "x" * 1000})

    shown = violations[0].values["fairs_total"]
    assert shown is not None
    assert len(shown) <= 40
    assert shown.endswith("…")


def test_unknown_key_names_the_key_and_table() -> None:
    values, violations = normalize_values(T1, {"ew_fairs": 3})

    violation = only(violations, "unknown_key")
    assert violation.keys == ("ew_fairs",)
    assert violation.values == {"ew_fairs": "3"}
    assert "ew_fairs" in violation.message_en
    assert "t1" in violation.message_zh
    assert values == {}


def test_part_exceeding_its_total_message() -> None:
    _, violations = validate_snapshot(T1, RULES, {"fairs_total": 10, "fairs_online": 12}, None)

    violation = only(violations, "part_exceeds_total")
    assert violation.severity is Severity.error
    assert violation.keys == ("fairs_online", "fairs_total")
    assert violation.values == {"fairs_online": "12", "fairs_total": "10"}
    assert violation.message_zh == (
        "其中：线上招聘 (fairs_online=12) 不得大于 举办各类招聘活动 (fairs_total=10)"
    )
    assert violation.message_en == "fairs_online (12) exceeds its total fairs_total (10)"


def test_parts_are_derived_from_the_definition_in_every_table() -> None:
    raw = {"ew_fairs": 2, "ew_fairs_sx_qh": 3, "ew_bases": 1, "ew_bases_sx_qh": 1}

    _, violations = validate_snapshot(T2, RULES, raw, None)

    assert [v.keys for v in violations] == [("ew_fairs_sx_qh", "ew_fairs")]


def test_part_equal_to_total_is_fine() -> None:
    _, violations = validate_snapshot(
        T1, RULES, {"postings_total": 5, "postings_labor_brand": 5}, None
    )

    assert violations == []


def test_labour_brand_events_are_not_part_of_the_online_offline_split() -> None:
    raw = {"fairs_total": 10, "fairs_online": 4, "fairs_offline": 6, "fairs_labor_brand": 10}

    _, violations = validate_snapshot(T1, RULES, raw, None)

    assert violations == []


@pytest.mark.parametrize(
    ("table_index", "raw", "rule"),
    [
        (0, {"fairs_total": 10, "fairs_online": 3, "fairs_offline": 3}, "t1.fairs_split"),
        (
            0,
            {"postings_total": 10, "postings_online": 3, "postings_offline": 8},
            "t1.postings_split",
        ),
        (
            1,
            {
                "p2p_bus_passengers": 1,
                "p2p_train_passengers": 2,
                "p2p_flight_passengers": 3,
                "p2p_passengers_total": 7,
            },
            "t2.passengers_sum",
        ),
    ],
)
def test_definition_rules_warn(table_index: int, raw: dict[str, object], rule: str) -> None:
    _, violations = validate_snapshot(DEFINITION.tables[table_index], RULES, raw, None)

    violation = only(violations, rule)
    assert violation.severity is Severity.warning
    assert set(violation.keys) == set(raw)
    assert violation.values == {key: str(value) for key, value in raw.items()}


def test_rule_message_shows_both_sums() -> None:
    raw = {"fairs_total": 10, "fairs_online": 3, "fairs_offline": 3}

    _, violations = validate_snapshot(T1, RULES, raw, None)

    violation = only(violations, "t1.fairs_split")
    assert violation.message_en == (
        "online + offline events should equal recruitment events held "
        "(fairs_online + fairs_offline = 6, fairs_total = 10)"
    )
    assert "fairs_online + fairs_offline = 6" in violation.message_zh


@pytest.mark.parametrize(
    "raw",
    [
        {"fairs_total": 10, "fairs_online": 3},
        {"fairs_online": 3, "fairs_offline": 3},
        {"fairs_total": 10},
        {},
    ],
)
def test_missing_keys_are_not_reported_not_zero(raw: dict[str, object]) -> None:
    values, violations = validate_snapshot(T1, RULES, raw, None)

    assert violations == []
    assert values == {key: Decimal(str(value)) for key, value in raw.items()}


def test_rejected_values_do_not_feed_the_consistency_rules() -> None:
    raw = {"fairs_total": 10, "fairs_online": -1, "fairs_offline": 11}

    _, violations = validate_snapshot(T1, RULES, raw, None)

    assert rule_ids(violations) == ["negative", "part_exceeds_total"]


def make_rule(operator: Operator, table: str = "t1") -> Rule:
    return Rule(
        id="custom",
        table=table,
        left=["fairs_online"],
        operator=operator,
        right=["fairs_offline"],
        severity=Severity.error,
        message_zh="自定义",
        message_en="custom",
    )


@pytest.mark.parametrize(
    ("operator", "online", "offline", "broken"),
    [
        (Operator.le, 3, 4, False),
        (Operator.le, 4, 4, False),
        (Operator.le, 5, 4, True),
        (Operator.ge, 5, 4, False),
        (Operator.ge, 3, 4, True),
        (Operator.eq, 4, 4, False),
        (Operator.eq, 3, 4, True),
    ],
)
def test_rule_operators(operator: Operator, online: int, offline: int, broken: bool) -> None:
    values = {"fairs_online": Decimal(online), "fairs_offline": Decimal(offline)}

    violations = check_values(T1, [make_rule(operator)], values, None)

    assert rule_ids(violations) == (["custom"] if broken else [])
    assert all(violation.severity is Severity.error for violation in violations)


def test_rules_of_other_tables_are_ignored() -> None:
    values = {"fairs_online": Decimal(5), "fairs_offline": Decimal(4)}

    assert check_values(T1, [make_rule(Operator.le, table="t2")], values, None) == []


def test_decrease_is_a_warning_per_key() -> None:
    values = {"fairs_total": Decimal(8), "postings_total": Decimal(100), "fairs_online": Decimal(2)}
    previous = {
        "fairs_total": Decimal(10),
        "postings_total": Decimal(100),
        "fairs_offline": Decimal(99),
    }

    violations = check_values(T1, RULES, values, previous)

    violation = only(violations, "decrease")
    assert violation.severity is Severity.warning
    assert violation.keys == ("fairs_total",)
    assert violation.values == {"fairs_total": "8", "previous.fairs_total": "10"}
    assert violation.message_en == (
        "fairs_total (8) is lower than the previous period's cumulative value (10)"
    )
    assert "fairs_total=8" in violation.message_zh


def test_decrease_of_an_amount() -> None:
    values = {"recruitment_funds": Decimal("1.2")}

    violations = check_values(T1, RULES, values, {"recruitment_funds": Decimal("1.2001")})

    assert only(violations, "decrease").values["previous.recruitment_funds"] == "1.2001"


def test_no_previous_means_no_decrease_check() -> None:
    assert check_values(T1, RULES, {"fairs_total": Decimal(0)}, None) == []
    assert check_values(T1, RULES, {"fairs_total": Decimal(0)}, {}) == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12"), "12"),
        (Decimal("3.50"), "3.5"),
        (Decimal("0.0001"), "0.0001"),
        (Decimal("1E+2"), "100"),
        (Decimal("1E-10"), "0.0000000001"),
        (Decimal("-0"), "0"),
        (Decimal("0E-7"), "0"),
        (Decimal("-2.50"), "-2.5"),
        (Decimal("1234567890123456789012345678901.5"), "1234567890123456789012345678901.5"),
    ],
)
def test_render_decimal(value: Decimal, text: str) -> None:
    assert render_decimal(value) == text
