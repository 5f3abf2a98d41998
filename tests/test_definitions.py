"""A campaign definition file is validated on load, with errors naming the bad field."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.campaigns.definition import DefinitionError, parse_definition

DEFINITION = Path(__file__).resolve().parents[1] / "app/campaigns/definitions/js-2024.yaml"


def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))
    return loaded


def test_the_shipped_definition_has_both_tables_complete() -> None:
    definition = parse_definition(raw(), "js-2024.yaml")
    t1, t2 = definition.table("t1"), definition.table("t2")
    assert t1 is not None and t2 is not None
    assert len(t1.indicators) == 18 and len(t2.indicators) == 20
    parents = {i.key: i.parent for i in t1.indicators + t2.indicators if i.parent}
    assert parents["fairs_online"] == "fairs_total"
    assert parents["p2p_passengers_sx_qh"] == "p2p_passengers_total"
    assert len(parents) == 11
    money = [i.key for i in t1.indicators if i.type == "decimal"]
    assert money == ["recruitment_funds", "employment_subsidies"]
    assert definition.goals.postings.target == 1_000_000
    assert len(definition.reporting_units) == 13


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone"),
        (lambda d: d.update(close_of_business="25:00"), "close_of_business"),
        (lambda d: d["tables"][0]["indicators"][2].update(parent="nope"), "parent 'nope'"),
        (lambda d: d["tables"][0]["indicators"][4].update(seq=9), "seq must run"),
        (lambda d: d["rules"][0].update(left=["ghost"]), "unknown indicators ['ghost']"),
        (lambda d: d.update(end="2024-01-01"), "end is before start"),
        (lambda d: d["deliverables"][0].pop("due"), "needs `due`"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["deliverables"][0].pop("source"), "deliverables.0.source"),
        (lambda d: d["deliverables"][1].pop("table"), "`table` goes with source: table"),
        (
            lambda d: d["deliverables"][0].update(table="t1"),
            "deliverable contacts: `table` goes with source: table",
        ),
        (
            lambda d: d["deliverables"][4].pop("document_kind"),
            "`document_kind` goes with source: document",
        ),
        (lambda d: d["deliverables"][1].update(min_count=2), "`min_count` is for source: cases"),
        (
            lambda d: d["quality"]["events_indicator"].update(key="ghost"),
            "quality.events_indicator: unknown indicator t1.ghost",
        ),
    ],
)
def test_a_bad_definition_is_refused_naming_the_field(mutate: Any, expected: str) -> None:
    document = raw()
    mutate(document)
    with pytest.raises(DefinitionError) as caught:
        parse_definition(document, "broken.yaml")
    assert "broken.yaml" in str(caught.value)
    assert expected in str(caught.value)
