"""Campaign definitions: loading the shipped files and answering from the loaded copy."""

import hashlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.campaigns.calendar import Deadline, Period, build_deadlines, build_periods
from app.campaigns.definition import (
    CampaignDefinition,
    DefinitionError,
    Table,
    parse_definition,
)
from app.campaigns.models import Campaign, DueOverride
from app.campaigns.vocabularies import VOCABULARY_NOUNS, Vocabularies, VocabularyName
from app.core.errors import FieldError, InvalidInput, NotFound
from app.regions.models import Region, RegionLevel

DEFINITIONS_DIR = Path(__file__).parent / "definitions"

_parsed: dict[str, CampaignDefinition] = {}


def fingerprint(definition: CampaignDefinition) -> tuple[dict[str, Any], str]:
    document = definition.model_dump(mode="json")
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    return document, hashlib.sha256(canonical).hexdigest()


def check_against_regions(session: Session, definition: CampaignDefinition) -> None:
    cities = {
        r.code
        for r in session.exec(
            select(Region).where(
                Region.level == RegionLevel.city, Region.parent_code == definition.province
            )
        ).all()
    }
    unknown = [code for code in definition.reporting_units if code not in cities]
    if unknown:
        raise DefinitionError(
            f"{definition.id}: reporting_units {unknown} are not cities of {definition.province}"
        )


def forget_parsed(campaign_id: str | None = None) -> None:
    """Drop this process's parsed copy (of one campaign, or all) after a load."""
    if campaign_id is None:
        _parsed.clear()
    else:
        _parsed.pop(campaign_id, None)


def get_definition(session: Session, campaign_id: str) -> CampaignDefinition:
    """The parsed definition, read once per process.

    Definitions are loaded when the service starts (`serve`, `migrate`), so a running
    process keeps the one it read first; restart it to pick up a changed definition file.
    """
    cached = _parsed.get(campaign_id)
    if cached is None:
        row = session.get(Campaign, campaign_id)
        if row is None:
            raise NotFound(f"no campaign {campaign_id!r}")
        cached = parse_definition(row.definition, f"campaign {campaign_id}")
        _parsed[campaign_id] = cached
    return cached


def list_definitions(session: Session) -> list[CampaignDefinition]:
    ids = session.exec(select(Campaign.id).order_by(col(Campaign.id))).all()
    return [get_definition(session, campaign_id) for campaign_id in ids]


def vocabularies_path(campaign_id: str) -> str:
    return f"/api/v1/campaigns/{campaign_id}/vocabularies"


def get_vocabularies(session: Session, campaign_id: str) -> Vocabularies:
    return get_definition(session, campaign_id).vocabularies


def unknown_term(
    definition: CampaignDefinition, vocabulary: VocabularyName, term: str, field: str
) -> FieldError:
    """`term` is not an id of the campaign's `vocabulary`: the error names the allowed ids."""
    allowed = ", ".join(definition.vocabularies.ids(vocabulary))
    return FieldError(
        field,
        "not_in_vocabulary",
        f"{term!r} is not a {VOCABULARY_NOUNS[vocabulary]} of campaign {definition.id}; "
        f"expected one of {allowed} ({vocabulary} at {vocabularies_path(definition.id)})",
    )


def get_table(definition: CampaignDefinition, table_id: str) -> Table:
    table = definition.table(table_id)
    if table is None:
        known = ", ".join(t.id for t in definition.tables)
        raise NotFound(f"campaign {definition.id} has no table {table_id!r} (tables: {known})")
    return table


# Built once: every computed view asks for its campaign's periods.
_DUE_OVERRIDES = (
    select(DueOverride.item, DueOverride.due)
    .where(DueOverride.campaign_id == bindparam("campaign_id"))
    .order_by(col(DueOverride.id))
)


def due_overrides(session: Session, definition: CampaignDefinition) -> dict[str, datetime]:
    rows = session.exec(_DUE_OVERRIDES, params={"campaign_id": definition.id}).all()
    latest: dict[str, datetime | None] = dict(rows)
    zone = definition.zone
    return {item: due.astimezone(zone) for item, due in latest.items() if due is not None}


def campaign_periods(session: Session, definition: CampaignDefinition) -> list[Period]:
    return build_periods(definition, overrides=due_overrides(session, definition))


def get_period(periods: list[Period], period_id: str) -> Period:
    for period in periods:
        if period.id == period_id:
            return period
    raise NotFound(f"no period {period_id!r}; periods run {periods[0].id}..{periods[-1].id}")


def campaign_deadlines(session: Session, definition: CampaignDefinition) -> list[Deadline]:
    overrides = due_overrides(session, definition)
    periods = build_periods(definition, overrides=overrides)
    return build_deadlines(definition, periods, overrides=overrides)


def overridable_items(definition: CampaignDefinition) -> list[str]:
    periods = [p.id for p in build_periods(definition)]
    return periods + [d.id for d in definition.deliverables if d.schedule == "once"]


def set_due_override(
    session: Session,
    definition: CampaignDefinition,
    item: str,
    due: datetime | None,
    reason: str,
    actor: str,
) -> DueOverride:
    items = overridable_items(definition)
    if item not in items:
        raise NotFound(
            f"{item!r} is neither a period nor a one-off deliverable of {definition.id}",
            errors=[FieldError("item", "unknown_item", f"expected one of {', '.join(items)}")],
        )
    if due is not None and not (
        definition.start
        <= due.astimezone(definition.zone).date()
        <= _latest_sensible_day(definition)
    ):
        raise InvalidInput(
            "the due instant must fall between the campaign start and 60 days after its end",
            errors=[FieldError("due", "out_of_range", "outside the campaign's reporting window")],
        )
    row = DueOverride(campaign_id=definition.id, item=item, due=due, reason=reason, set_by=actor)
    session.add(row)
    session.flush()
    return row


def _latest_sensible_day(definition: CampaignDefinition) -> date:
    return date.fromordinal(definition.end.toordinal() + 60)


def get_reporting_city(
    session: Session, definition: CampaignDefinition, city: str
) -> tuple[Region, list[Region]]:
    """The city and its counties, if the city reports in this campaign."""
    ensure_reporting_unit(definition, city)
    region = session.get(Region, city)
    if region is None:
        raise NotFound(f"no region with code {city!r}")
    counties = session.exec(
        select(Region).where(Region.parent_code == city).order_by(col(Region.code))
    ).all()
    return region, list(counties)


def ensure_reporting_unit(definition: CampaignDefinition, city: str) -> None:
    """Reporting units were checked against the regions when the definition was loaded."""
    if city not in definition.reporting_units:
        raise NotFound(f"{city} is not a reporting unit of campaign {definition.id}")
