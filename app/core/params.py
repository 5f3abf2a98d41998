"""Path and query parameters that several routers share, declared once so that every route
names a campaign, a city or a period the same way (and the OpenAPI document says so once)."""

from typing import Annotated

from fastapi import Path, Query

from app.core.instants import Instant

# Row ids in paths: bounded to what the databases' integer columns hold, so an absurd id is
# a 422 rather than an overflow inside the database.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

# A period of any cycle: a letter and its number (W05 for the fifth week, P03 for the third
# of a 10-day cycle); whether it exists is the campaign's to say (404 otherwise).
PERIOD_PATTERN = r"^[A-Z]\d{2}$"
CAMPAIGN_PATTERN = r"^[a-z0-9][a-z0-9-]{1,31}$"
TABLE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
REGION_PATTERN = r"^\d{6}$"

CityCode = Annotated[
    str, Path(pattern=REGION_PATTERN, description="6-digit city code", examples=["320100"])
]
CampaignId = Annotated[str, Path(pattern=CAMPAIGN_PATTERN, examples=["js-2024"])]
TableId = Annotated[str, Path(pattern=TABLE_PATTERN, examples=["t1"])]
ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_]{1,32}$", examples=["W04", "stage_report"])]
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="The case's id")]
PeriodPath = Annotated[str, Path(pattern=PERIOD_PATTERN, examples=["W03"])]
PeriodQuery = Annotated[str, Query(pattern=PERIOD_PATTERN, examples=["W03"])]

PeriodFilter = Annotated[str | None, Query(pattern=PERIOD_PATTERN, examples=["W05"])]
TableFilter = Annotated[str | None, Query(pattern=TABLE_PATTERN, examples=["t1"])]
CityFilter = Annotated[str | None, Query(pattern=REGION_PATTERN, examples=["320100"])]
AsOf = Annotated[
    Instant | None,
    Query(description="Answer from the data as it stood at this instant (revision history)"),
]
At = Annotated[
    Instant | None,
    Query(description="Judge as of this instant (default: now)"),
]

SNAPSHOT_PATH = "/{campaign}/cities/{city}/tables/{table}/periods/{period}"
