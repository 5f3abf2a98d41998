"""Validation of one snapshot of a statistics table: pure functions over the definition.

`normalize_values` turns a JSON body into exact decimals and reports values that cannot be
stored; `check_values` applies the table's consistency rules; `validate_snapshot` does both
and reports every violation at once. A missing key is "not reported": it is never read as 0,
so a rule that involves it is skipped.
"""

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.campaigns.definition import Indicator, Operator, Rule, Severity, Table, ValueType

MAX_ABS_VALUE = Decimal(10**15)
_MAX_TEXT = 40

_COMPARE: dict[Operator, Callable[[Decimal, Decimal], bool]] = {
    Operator.eq: operator.eq,
    Operator.le: operator.le,
    Operator.ge: operator.ge,
    Operator.implies: lambda left, right: left <= 0 or right > 0,
}


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: Severity
    keys: tuple[str, ...]
    values: dict[str, str | None]
    message_zh: str
    message_en: str


def holds(relation: Operator, left: Decimal, right: Decimal) -> bool:
    return _COMPARE[relation](left, right)


def render_decimal(value: Decimal) -> str:
    """The plain decimal text of `value`: no exponent, no trailing zeros, no "-0"."""
    # format(..., "f") is exact whatever the context precision, unlike normalize().
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def canonical_decimal(value: Decimal) -> Decimal:
    """The same number as `value` with no exponent and no trailing zeros."""
    return Decimal(render_decimal(value))


def decimal_places(value: Decimal) -> int:
    return len(render_decimal(value).partition(".")[2])


def validate_snapshot(
    table: Table,
    rules: Sequence[Rule],
    raw: Mapping[str, object],
    previous: Mapping[str, Decimal] | None,
) -> tuple[dict[str, Decimal], list[Violation]]:
    values, violations = normalize_values(table, raw)
    return values, violations + check_values(table, rules, values, previous)


def normalize_values(
    table: Table, raw: Mapping[str, object]
) -> tuple[dict[str, Decimal], list[Violation]]:
    """Exact, canonical values of the valid entries of `raw`, and what is wrong with the rest.

    An entry with a violation is left out of the values, so the consistency checks that
    follow do not pile further messages onto an already rejected number.
    """
    values: dict[str, Decimal] = {}
    violations: list[Violation] = []
    for key, item in raw.items():
        indicator = table.indicator(key)
        if indicator is None:
            violations.append(_unknown_key(table, key, item))
            continue
        number = _as_decimal(item)
        if number is None:
            violations.append(_not_a_number(indicator, item))
            continue
        problems = _value_problems(indicator, number)
        if problems:
            violations.extend(problems)
        else:
            values[key] = canonical_decimal(number)
    return values, violations


def check_values(
    table: Table,
    rules: Sequence[Rule],
    values: Mapping[str, Decimal],
    previous: Mapping[str, Decimal] | None,
) -> list[Violation]:
    violations = _parts_exceeding_totals(table, values)
    for rule in rules:
        if rule.table == table.id:
            violations.extend(_broken_rule(table, rule, values))
    if previous is not None:
        violations.extend(_decreases(table, values, previous))
    return violations


def _as_decimal(item: object) -> Decimal | None:
    # bool is an int subclass, but true/false in a body is a client bug, not 1/0.
    if isinstance(item, bool):
        return None
    if isinstance(item, Decimal | int):
        return Decimal(item)
    if isinstance(item, float):
        return Decimal(str(item))
    return None


def _value_problems(indicator: Indicator, number: Decimal) -> list[Violation]:
    if not number.is_finite() or abs(number) > MAX_ABS_VALUE:
        return [_out_of_range(indicator, number)]
    problems: list[Violation] = []
    if number < 0:
        problems.append(_negative(indicator, number))
    if indicator.type is ValueType.integer and decimal_places(number) > 0:
        problems.append(_not_integer(indicator, number))
    if indicator.type is ValueType.decimal and decimal_places(number) > indicator.decimals:
        problems.append(_too_many_decimals(indicator, number))
    return problems


def _parts_exceeding_totals(table: Table, values: Mapping[str, Decimal]) -> list[Violation]:
    by_key = {indicator.key: indicator for indicator in table.indicators}
    return [
        _part_exceeds_total(part, by_key[part.parent], values)
        for part in table.indicators
        if part.parent is not None
        and part.key in values
        and part.parent in values
        and values[part.key] > values[part.parent]
    ]


def _broken_rule(table: Table, rule: Rule, values: Mapping[str, Decimal]) -> list[Violation]:
    keys = (*rule.left, *rule.right)
    if any(key not in values for key in keys):
        return []
    left = sum((values[key] for key in rule.left), Decimal(0))
    right = sum((values[key] for key in rule.right), Decimal(0))
    if holds(rule.operator, left, right):
        return []
    left_text, right_text = _sum_text(rule.left, left), _sum_text(rule.right, right)
    return [
        Violation(
            rule=rule.id,
            severity=rule.severity,
            keys=keys,
            values={key: render_decimal(values[key]) for key in keys},
            message_zh=f"{rule.message_zh}（{left_text}，{right_text}）",
            message_en=f"{rule.message_en} ({left_text}, {right_text})",
        )
    ]


def _decreases(
    table: Table, values: Mapping[str, Decimal], previous: Mapping[str, Decimal]
) -> list[Violation]:
    return [
        _decrease(indicator, values[indicator.key], previous[indicator.key])
        for indicator in table.indicators
        if indicator.key in values
        and indicator.key in previous
        and values[indicator.key] < previous[indicator.key]
    ]


def _sum_text(keys: Sequence[str], total: Decimal) -> str:
    return f"{' + '.join(keys)} = {render_decimal(total)}"


def _raw_text(item: object) -> str | None:
    if item is None:
        return None
    text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, default=repr)
    return _clip(text)


def _clip(text: str) -> str:
    """Keeps a message readable whatever a client sends."""
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _named(indicator: Indicator, shown: str | None) -> str:
    """`其中：线上招聘 (fairs_online=12)`, the way the Chinese messages name a value."""
    return f"{indicator.name_zh} ({indicator.key}={shown})"


def _single(
    rule: str, indicator: Indicator, number: Decimal, message_zh: str, message_en: str
) -> Violation:
    shown = _clip(render_decimal(number))
    return Violation(
        rule=rule,
        severity=Severity.error,
        keys=(indicator.key,),
        values={indicator.key: shown},
        message_zh=f"{_named(indicator, shown)} {message_zh}",
        message_en=f"{indicator.key} ({shown}) {message_en}",
    )


def _unknown_key(table: Table, key: str, item: object) -> Violation:
    return Violation(
        rule="unknown_key",
        severity=Severity.error,
        keys=(key,),
        values={key: _raw_text(item)},
        message_zh=f"表 {table.id}（{table.title_zh}）中没有指标 {key}",
        message_en=f"table {table.id} has no indicator {key!r}",
    )


def _not_a_number(indicator: Indicator, item: object) -> Violation:
    shown = _raw_text(item)
    return Violation(
        rule="not_a_number",
        severity=Severity.error,
        keys=(indicator.key,),
        values={indicator.key: shown},
        message_zh=f"{_named(indicator, shown)} 不是数字",
        message_en=f"{indicator.key} ({shown}) is not a number",
    )


def _out_of_range(indicator: Indicator, number: Decimal) -> Violation:
    limit = render_decimal(MAX_ABS_VALUE)
    return _single(
        "out_of_range",
        indicator,
        number,
        f"超出允许范围（0 至 {limit}）",
        f"is out of range (0 to {limit})",
    )


def _negative(indicator: Indicator, number: Decimal) -> Violation:
    return _single("negative", indicator, number, "不得为负数", "must not be negative")


def _not_integer(indicator: Indicator, number: Decimal) -> Violation:
    return _single(
        "not_integer",
        indicator,
        number,
        f"应为整数（单位：{indicator.unit_zh}）",
        f"must be a whole number of {indicator.unit_en}",
    )


def _too_many_decimals(indicator: Indicator, number: Decimal) -> Violation:
    return _single(
        "too_many_decimals",
        indicator,
        number,
        f"最多保留 {indicator.decimals} 位小数（单位：{indicator.unit_zh}）",
        f"allows at most {indicator.decimals} decimal places ({indicator.unit_en})",
    )


def _part_exceeds_total(
    part: Indicator, total: Indicator, values: Mapping[str, Decimal]
) -> Violation:
    part_value = render_decimal(values[part.key])
    total_value = render_decimal(values[total.key])
    return Violation(
        rule="part_exceeds_total",
        severity=Severity.error,
        keys=(part.key, total.key),
        values={part.key: part_value, total.key: total_value},
        message_zh=f"{_named(part, part_value)} 不得大于 {_named(total, total_value)}",
        message_en=(f"{part.key} ({part_value}) exceeds its total {total.key} ({total_value})"),
    )


def _decrease(indicator: Indicator, value: Decimal, before: Decimal) -> Violation:
    shown, previous = render_decimal(value), render_decimal(before)
    return Violation(
        rule="decrease",
        severity=Severity.warning,
        keys=(indicator.key,),
        # "previous.<key>" cannot collide with an indicator key, which has no dot.
        values={indicator.key: shown, f"previous.{indicator.key}": previous},
        message_zh=f"{_named(indicator, shown)} 低于上一期的累计数 {previous}",
        message_en=(
            f"{indicator.key} ({shown}) is lower than the previous period's "
            f"cumulative value ({previous})"
        ),
    )
