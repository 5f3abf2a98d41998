from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from app.campaigns.vocabularies import MAX_EVENT_CATEGORY, TERM_PATTERN
from app.core.text import SingleLine, Title
from app.events.models import Mode
from app.records.fields import ReceivedAt, RegionCode, term_description

MAX_BATCH = 5000
MAX_COUNT = 100_000_000
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
RESERVED_IDS = frozenset({"batch"})
DEFAULT_CATEGORY = "other"
CATEGORY_DESCRIPTION = term_description("event_categories")
EventCategory = Annotated[
    str,
    Field(
        pattern=TERM_PATTERN,
        max_length=MAX_EVENT_CATEGORY,
        description=CATEGORY_DESCRIPTION,
        examples=["returnees"],
    ),
]


def _whole_number(value: object) -> object:
    """JSON has one number type: 86.0 is the integer 86 (JSON Schema agrees), "86" is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT), BeforeValidator(_whole_number)]
ExternalId = Annotated[
    str,
    Field(
        pattern=EXTERNAL_ID_PATTERN,
        description="The city system's own id of the event (letters, digits, . _ : -)",
        json_schema_extra={"not": {"enum": sorted(RESERVED_IDS)}},
        examples=["NJ-2024-000123"],
    ),
]

EVENT_EXAMPLE: dict[str, Any] = {
    "county": "320115",
    "name": "江宁区2024年春风行动大型招聘会",
    "start_date": "2024-02-18",
    "end_date": "2024-02-18",
    "mode": "offline",
    "labor_brand": False,
    "category": "returnees",
    "venue": "江宁区人力资源市场",
    "organizer": "江宁区人社局",
    "employers": 86,
    "postings_offered": 3200,
    "attendees": 5400,
    "intents": 610,
}


class EventFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    county: RegionCode = Field(description="A county (县、市、区) of the city")
    name: Title
    start_date: date = Field(description="Local date; the event counts in this date's period")
    end_date: date
    mode: Mode
    labor_brand: StrictBool = Field(default=False, description="劳务品牌专场")
    category: EventCategory = Field(
        default=DEFAULT_CATEGORY,
        description=f"{CATEGORY_DESCRIPTION} Left out: `{DEFAULT_CATEGORY}`, which the "
        "campaign must then have.",
    )
    venue: Annotated[str, Field(max_length=500), SingleLine] | None = Field(
        default=None, description="Place or URL"
    )
    organizer: Annotated[str, Field(max_length=200), SingleLine] | None = None
    employers: Count | None = None
    postings_offered: Count | None = None
    attendees: Count | None = None
    intents: Count | None = Field(default=None, description="达成就业意向人数")


class EventItem(EventFields):
    """One event of a batch."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"external_id": "NJ-2024-000123", **EVENT_EXAMPLE}]}
    )

    external_id: ExternalId


class EventIn(EventFields):
    model_config = ConfigDict(json_schema_extra={"examples": [EVENT_EXAMPLE]})

    external_id: ExternalId | None = Field(
        default=None, description="Optional; when sent it must equal the address's id"
    )
    received_at: ReceivedAt = None


# Whole, its one definition (the `mode` enum) inlined: the batch's body is documented from
# its model alone, outside FastAPI's shared definitions (app.core.routing.JsonBodyOf).
_ITEM_SCHEMA = EventItem.model_json_schema()
_ITEM_SCHEMA["properties"]["mode"] = _ITEM_SCHEMA.pop("$defs")["Mode"]


class EventBatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"items": [{"external_id": "NJ-2024-000123", **EVENT_EXAMPLE}]}]
        },
    )

    # Items are validated one by one, so one bad item is reported at its index instead of
    # refusing the whole batch (here they are taken as they are: checking 5,000 objects in
    # one call would hold the interpreter for milliseconds while readers wait).
    items: list[Annotated[Any, WithJsonSchema(_ITEM_SCHEMA)]] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"At most {MAX_BATCH} events"
    )
    received_at: ReceivedAt = None


class EventOut(EventFields):
    model_config = ConfigDict(extra="ignore")

    external_id: str
    campaign: str
    city: str
    period: str = Field(description="The period of start_date")
    revision: int
    first_received_at: datetime
    submitted_by: str
    received_at: datetime
    backdated: bool


ItemStatus = Literal["created", "updated", "unchanged", "rejected", "ignored"]


class ItemError(BaseModel):
    field: str = Field(description="e.g. `items.17.county`")
    code: str
    message: str


class ItemResult(BaseModel):
    index: int
    external_id: str | None
    status: ItemStatus
    revision: int | None = Field(default=None, description="The event's revision now")
    errors: list[ItemError] = Field(default_factory=list, description="Why it was rejected")


class ImportStats(BaseModel):
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    ignored: int = Field(description="Valid items not applied because an atomic batch failed")


class BatchResult(BaseModel):
    """An import summary in the manner of DHIS2's: totals, then one line per item."""

    status: Literal["OK", "WARNING", "ERROR"] = Field(
        description="OK: all applied; WARNING: some rejected; ERROR: nothing applied"
    )
    atomic: bool
    received_at: datetime
    stats: ImportStats
    items: list[ItemResult]


class EventWriteResult(EventOut):
    status: Literal["created", "updated", "unchanged"]
