"""Row ids in paths: bounded to what the databases' integer columns hold, so an absurd id is
a 422 rather than an overflow inside the database."""

from typing import Annotated

from fastapi import Path

MAX_ID = 2**31 - 1

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
