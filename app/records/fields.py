"""Field types the record bodies share."""

from typing import Annotated

from pydantic import Field

from app.campaigns.vocabularies import VOCABULARY_NOUNS, VocabularyName
from app.core.instants import Instant
from app.core.params import PERIOD_PATTERN

PeriodId = Annotated[str, Field(pattern=PERIOD_PATTERN, examples=["W03"])]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["320102"])]

ReceivedAt = Annotated[
    Instant | None,
    Field(
        description="Administrators loading a past season only: the original receipt time. "
        "The write is marked backdated.",
    ),
]


def term_description(vocabulary: VocabularyName) -> str:
    """What a field holding an id of one of the campaign's vocabularies says in OpenAPI."""
    return (
        f"One of the campaign's {VOCABULARY_NOUNS[vocabulary]} ids: the list `{vocabulary}` of "
        "`GET /api/v1/campaigns/{campaign}/vocabularies` (with Chinese and English labels; "
        "also the campaign definition's `vocabularies`). Any other id is refused with 422 "
        "naming this field and the allowed ids."
    )
