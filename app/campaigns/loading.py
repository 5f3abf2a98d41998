"""Loading a campaign definition file (and the regions file it names) into the database.

The same function serves `serve`/`migrate` (the shipped definitions) and
`python -m app campaigns load FILE` (any other province or year). A new version of a loaded
campaign is refused when it would orphan stored data: a reporting unit, a table, an indicator
or a period that records point to must stay.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.campaigns.calendar import build_periods
from app.campaigns.definition import CampaignDefinition, DefinitionError, read_definition_file
from app.campaigns.models import Campaign
from app.campaigns.service import (
    DEFINITIONS_DIR,
    check_against_regions,
    fingerprint,
    forget_parsed,
)
from app.campaigns.vocabularies import VOCABULARY_NOUNS, VocabularyName
from app.cases.models import HighlightCase
from app.contacts.models import CityContact
from app.core.types import utc_now
from app.documents.models import CityDocument
from app.events.models import RecruitmentEvent
from app.regions.service import load_regions
from app.reporting.models import SnapshotHead


@dataclass(frozen=True)
class LoadReport:
    campaign: str
    changed: bool  # the stored definition was new or different
    regions_changed: int  # region rows inserted or updated from its regions file


def regions_path(definition: CampaignDefinition, definition_file: Path) -> Path | None:
    if definition.regions is None:
        return None
    path = (definition_file.parent / definition.regions).resolve()
    if not path.is_file():
        raise DefinitionError(
            f"{definition_file.name}: regions: no file {definition.regions!r} next to it"
        )
    return path


def load_campaign_file(session: Session, path: Path) -> LoadReport:
    """Validate the definition, load its regions, store it (unchanged files are skipped)."""
    definition = read_definition_file(path)
    regions = regions_path(definition, path)
    regions_changed = load_regions(session, regions) if regions is not None else 0
    check_against_regions(session, definition)
    document, digest = fingerprint(definition)
    row = session.get(Campaign, definition.id)
    if row is not None and row.definition_sha256 == digest:
        return LoadReport(definition.id, False, regions_changed)
    if row is not None:
        # Only the stored records are compared: the stored copy may be of an older schema.
        orphans = orphaned_data(session, definition)
        if orphans:
            raise DefinitionError(
                f"{path.name}: refused, stored data would be orphaned: " + "; ".join(orphans)
            )
    row = row or Campaign(id=definition.id, name="", definition={}, definition_sha256="")
    row.name = definition.name_zh
    row.definition = document
    row.definition_sha256 = digest
    row.loaded_at = utc_now()
    session.add(row)
    session.flush()
    forget_parsed(definition.id)
    return LoadReport(definition.id, True, regions_changed)


def _missing(kind: str, used: Iterable[str], kept: set[str]) -> list[str]:
    gone = sorted(set(used) - kept)
    return [f"{kind} {', '.join(gone)} still has stored records"] if gone else []


def orphaned_data(session: Session, new: CampaignDefinition) -> list[str]:
    """What the stored records of the campaign use that `new` no longer defines."""
    campaign = new.id
    heads = session.exec(
        select(
            SnapshotHead.city_code,
            SnapshotHead.table_id,
            SnapshotHead.period_id,
            SnapshotHead.current_values,
        ).where(SnapshotHead.campaign_id == campaign, col(SnapshotHead.current_revision) > 0)
    ).all()
    cities = {head[0] for head in heads}
    periods = {head[2] for head in heads}
    for model in (HighlightCase, RecruitmentEvent):
        for city, period in session.exec(
            select(model.city_code, model.period_id).where(model.campaign_id == campaign).distinct()
        ).all():
            cities.add(city)
            periods.add(period)
    for model_with_city in (CityContact, CityDocument):
        cities.update(
            session.exec(
                select(model_with_city.city_code)
                .where(model_with_city.campaign_id == campaign)
                .distinct()
            ).all()
        )
    tables = {table.id: table for table in new.tables}
    indicators = [
        f"{table}.{key}"
        for _, table, _, values in heads
        if table in tables
        for key in values
        if tables[table].indicator(key) is None
    ]
    columns: dict[VocabularyName, Any] = {
        "case_activities": col(HighlightCase.activity),
        "event_categories": col(RecruitmentEvent.category),
        "document_kinds": col(CityDocument.kind),
    }
    terms = [(name, _used(session, column, campaign)) for name, column in columns.items()]
    return [
        *_missing("reporting unit", cities, set(new.reporting_units)),
        *_missing("table", (head[1] for head in heads), set(tables)),
        *_missing("indicator", indicators, set()),
        *_missing("period", periods - {""}, {p.id for p in build_periods(new)}),
        *(
            problem
            for name, used in terms
            for problem in _missing(VOCABULARY_NOUNS[name], used, set(new.vocabularies.ids(name)))
        ),
    ]


def _used(session: Session, column: Any, campaign: str) -> set[str]:
    """The distinct values of a record column within the campaign."""
    table = column.table
    return set(session.exec(select(column).where(table.c.campaign_id == campaign).distinct()).all())


def load_campaigns(session: Session, directory: Path = DEFINITIONS_DIR) -> list[str]:
    """Load every `*.yaml` definition of the directory; returns the ids whose stored copy
    changed."""
    forget_parsed()
    reports = [load_campaign_file(session, path) for path in sorted(directory.glob("*.yaml"))]
    return [report.campaign for report in reports if report.changed]
