"""Cross-table plausibility: the definition's `cross_rules` over one city's tables for one
period. Pure functions; the callers read the other tables' values (the write path in
`snapshots.submit_snapshot`, the open warnings in `computed.views.quality_view`).

Keys are named `<table>.<key>` ("t1.fairs_total"): a cross rule spans tables, and a dotted
name cannot collide with an indicator key.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal

from app.campaigns.definition import CampaignDefinition, CrossRule, Severity, Term
from app.reporting.validation import Violation, holds, render_decimal

TableValues = Mapping[str, Mapping[str, Decimal]]  # table id -> indicator key -> value


def partner_tables(definition: CampaignDefinition, table_id: str) -> set[str]:
    """The other tables a write of `table_id` is checked against."""
    return {
        other
        for rule in definition.cross_rules
        if table_id in rule.tables
        for other in rule.tables
        if other != table_id
    }


def cross_table_warnings(
    definition: CampaignDefinition, table_id: str, values: TableValues
) -> list[Violation]:
    """The broken cross rules that involve `table_id`, over `values` (every table's values
    known, `table_id`'s own included). A rule with a key not reported does not fire."""
    found = []
    for rule in definition.cross_rules:
        if table_id not in rule.tables:
            continue
        left, right = _side(rule.left, values), _side(rule.right, values)
        if left is not None and right is not None and not holds(rule.operator, left, right):
            found.append(_warning(definition, rule, values, left, right))
    return found


def qualified(term: Term) -> str:
    return f"{term.table}.{term.key}"


def _side(terms: Sequence[Term], values: TableValues) -> Decimal | None:
    total = Decimal(0)
    for term in terms:
        value = values.get(term.table, {}).get(term.key)
        if value is None:
            return None
        total += term.factor * value
    return total


def _warning(
    definition: CampaignDefinition,
    rule: CrossRule,
    values: TableValues,
    left: Decimal,
    right: Decimal,
) -> Violation:
    shown = {qualified(t): render_decimal(values[t.table][t.key]) for t in rule.terms}
    left_zh, right_zh = (
        _side_zh(definition, terms, shown, total)
        for terms, total in ((rule.left, left), (rule.right, right))
    )
    left_en, right_en = _side_en(rule.left, left), _side_en(rule.right, right)
    return Violation(
        rule=rule.id,
        severity=Severity.warning,
        keys=tuple(shown),
        values=dict(shown),
        message_zh=f"{rule.message_zh}（{left_zh}；{right_zh}）",
        message_en=f"{rule.message_en} ({left_en}; {right_en})",
    )


def _times(term: Term) -> str:
    return "" if term.factor == 1 else f"{term.factor} × "


def _side_zh(
    definition: CampaignDefinition,
    terms: Sequence[Term],
    shown: Mapping[str, str],
    total: Decimal,
) -> str:
    """`附件2 举办东西部劳务协作专场招聘 (t2.ew_fairs=8) + … = 13`."""
    named = " + ".join(
        f"{_times(t)}{_label_zh(definition, t)} ({qualified(t)}={shown[qualified(t)]})"
        for t in terms
    )
    return named if _is_plain(terms) else f"{named} = {render_decimal(total)}"


def _side_en(terms: Sequence[Term], total: Decimal) -> str:
    """`t2.ew_fairs + t2.ns_fairs = 13`."""
    return f"{' + '.join(_times(t) + qualified(t) for t in terms)} = {render_decimal(total)}"


def _is_plain(terms: Sequence[Term]) -> bool:
    """One term without a factor: its value, shown with its name, is already the total."""
    return len(terms) == 1 and terms[0].factor == 1


def _label_zh(definition: CampaignDefinition, term: Term) -> str:
    """`附件1 举办各类招聘活动`."""
    table = definition.table(term.table)
    indicator = None if table is None else table.indicator(term.key)
    if table is None or indicator is None:  # the definition's validation rules this out
        raise LookupError(f"cross rule term {qualified(term)} is not in the definition")
    return f"{table.attachment} {indicator.name_zh}"
