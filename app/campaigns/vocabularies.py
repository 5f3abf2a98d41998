"""The campaign's own words: the kinds of document, case activities and event categories its
cities may use, each with its Chinese label. Writes are checked against them."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TERM_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
# What the records' columns hold: recruitment_event.category is 16 characters wide
# (highlight_case.activity and city_document.kind hold TERM_PATTERN's 32).
MAX_EVENT_CATEGORY = 16

VocabularyName = Literal["document_kinds", "case_activities", "event_categories"]
# What one term of each is called in messages and in the API's descriptions.
VOCABULARY_NOUNS: dict[VocabularyName, str] = {
    "document_kinds": "document kind",
    "case_activities": "case activity",
    "event_categories": "event category",
}


class VocabularyTerm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=TERM_PATTERN, description="What a client sends")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)


def _terms(*rows: tuple[str, str, str]) -> list[VocabularyTerm]:
    return [VocabularyTerm(id=id_, name_zh=zh, name_en=en) for id_, zh, en in rows]


# What a definition that names no vocabulary gets: the Spring Breeze Action's own words.
DEFAULT_DOCUMENT_KINDS = _terms(
    ("stage_report", "阶段性进展情况", "Stage report"),
    ("final_summary", "整体活动总结", "Final summary"),
    ("other", "其他材料（活动安排、政策要点、创新做法等）", "Other"),
)
DEFAULT_CASE_ACTIVITIES = _terms(
    ("visit", "就业访民情", "Visiting households"),
    ("warmth", "节日送温暖", "Holiday warmth"),
    ("jobs_nearby", "送岗到身边", "Jobs nearby"),
    ("village_projects", "项目进乡村", "Projects to villages"),
    ("cross_region", "省内外对接", "Cross-region matching"),
)
DEFAULT_EVENT_CATEGORIES = _terms(
    ("graduates", "高校毕业生专场", "Graduates"),
    ("veterans", "退役军人专场", "Veterans"),
    ("returnees", "返乡人员专场", "Returnees"),
    ("gig_market", "零工市场专场", "Gig market"),
    ("livestream", "直播带岗", "Livestream"),
    ("other", "其他", "Other"),
)


class Vocabularies(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    document_kinds: list[VocabularyTerm] = Field(
        default_factory=lambda: list(DEFAULT_DOCUMENT_KINDS), min_length=1
    )
    case_activities: list[VocabularyTerm] = Field(
        default_factory=lambda: list(DEFAULT_CASE_ACTIVITIES), min_length=1
    )
    event_categories: list[VocabularyTerm] = Field(
        default_factory=lambda: list(DEFAULT_EVENT_CATEGORIES), min_length=1
    )

    @model_validator(mode="after")
    def _unique(self) -> "Vocabularies":
        for name in ("document_kinds", "case_activities", "event_categories"):
            ids = [term.id for term in getattr(self, name)]
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"vocabularies.{name}: repeated ids {repeated}")
        too_long = [t.id for t in self.event_categories if len(t.id) > MAX_EVENT_CATEGORY]
        if too_long:
            raise ValueError(
                f"vocabularies.event_categories: ids of at most {MAX_EVENT_CATEGORY} "
                f"characters, not {too_long}"
            )
        return self

    def ids(self, name: str) -> list[str]:
        terms: list[VocabularyTerm] = getattr(self, name)
        return [term.id for term in terms]

    def label(self, name: VocabularyName, term_id: str) -> str:
        """The Chinese label of a term; the id itself for a term the campaign no longer has."""
        terms: list[VocabularyTerm] = getattr(self, name)
        return next((term.name_zh for term in terms if term.id == term_id), term_id)
