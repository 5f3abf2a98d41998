"""Where a city record lives: a campaign, one of its reporting cities, that city's counties,
the campaign's periods and its vocabularies. Every record service starts by resolving one."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session

from app.campaigns.calendar import Period
from app.campaigns.definition import CampaignDefinition
from app.campaigns.service import (
    campaign_periods,
    get_definition,
    get_reporting_city,
    unknown_term,
)
from app.campaigns.vocabularies import VOCABULARY_NOUNS, VocabularyName
from app.core.errors import FieldError, InvalidInput


@dataclass(frozen=True)
class CityScope:
    definition: CampaignDefinition
    city: str
    counties: frozenset[str]
    periods: tuple[Period, ...]
    _by_day: dict[date, Period] = field(init=False, repr=False, compare=False)
    _terms: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_day = {
            period.start + timedelta(days=offset): period
            for period in self.periods
            for offset in range(period.days)
        }
        object.__setattr__(self, "_by_day", by_day)
        vocabularies = self.definition.vocabularies
        terms = {name: frozenset(vocabularies.ids(name)) for name in VOCABULARY_NOUNS}
        object.__setattr__(self, "_terms", terms)

    @property
    def campaign_id(self) -> str:
        return self.definition.id

    def period(self, period_id: str) -> Period | None:
        return next((p for p in self.periods if p.id == period_id), None)

    def period_of(self, day: date) -> Period | None:
        """The period containing `day` (a batch asks thousands of times: a lookup)."""
        return self._by_day.get(day)

    def county_error(self, county: str | None, field: str) -> FieldError | None:
        if county is None or county in self.counties:
            return None
        return FieldError(
            field, "not_in_city", f"{county} is not a county of city {self.city} (县、市、区)"
        )

    def period_error(self, period_id: str, field: str) -> FieldError | None:
        if self.period(period_id) is not None:
            return None
        first, last = self.periods[0].id, self.periods[-1].id
        return FieldError(
            field,
            "unknown_period",
            f"{period_id} is not a period of {self.campaign_id} ({first}..{last})",
        )

    def allows(self, vocabulary: VocabularyName, term: str) -> bool:
        """`term` is an id of the campaign's `vocabulary` (a batch asks thousands of times)."""
        return term in self._terms[vocabulary]

    def unknown_term(self, vocabulary: VocabularyName, term: str, field: str) -> FieldError:
        return unknown_term(self.definition, vocabulary, term, field)

    def term_error(
        self, vocabulary: VocabularyName, term: str | None, field: str
    ) -> FieldError | None:
        """An activity, kind or category outside the campaign's vocabulary."""
        if term is None or self.allows(vocabulary, term):
            return None
        return self.unknown_term(vocabulary, term, field)

    def check_filter(self, vocabulary: VocabularyName, term: str | None, parameter: str) -> None:
        """422 for a list filter that names no id of the campaign's vocabulary."""
        error = self.term_error(vocabulary, term, f"query.{parameter}")
        if error is not None:
            raise InvalidInput(f"unknown {parameter} {term!r}", errors=[error])


def resolve_scope(session: Session, campaign_id: str, city: str) -> CityScope:
    """404 unless the campaign exists and the city reports in it."""
    definition = get_definition(session, campaign_id)
    _, counties = get_reporting_city(session, definition, city)
    return CityScope(
        definition=definition,
        city=city,
        counties=frozenset(county.code for county in counties),
        periods=tuple(campaign_periods(session, definition)),
    )
