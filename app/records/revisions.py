"""Revisions of a record: a canonical fingerprint of its content, and what changed."""

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.core.params import MAX_ID


def content_sha256(data: Mapping[str, Any]) -> str:
    """Equal content, equal fingerprint: key order and formatting do not matter."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class FieldChange(BaseModel):
    field: str
    previous: Any = None
    current: Any = None


def field_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[FieldChange]:
    before = before or {}
    return [
        FieldChange(field=key, previous=before.get(key), current=after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


class RevisionOut(BaseModel):
    revision: int
    data: dict[str, Any] = Field(description="The record's fields as of this revision")
    changes: list[FieldChange] = Field(description="What changed against the revision before")
    submitted_by: str
    received_at: datetime
    backdated: bool


RevisionRow = tuple[int, dict[str, Any], str, datetime, bool]


def last_revision_of_page(after: int, limit: int) -> int:
    """The highest revision a page after `after` can hold, within the integer column (a
    cursor near the top must not overflow the database's 32-bit integer)."""
    return min(after + limit, MAX_ID)


def revision_history(rows: list[RevisionRow], *, after: int = 0) -> list[RevisionOut]:
    """Rows (revision, data, submitted_by, received_at, backdated) in revision order, from
    revision `after` (the base the first change is measured against; 0 means none)."""
    history, previous = [], None
    for revision, data, submitted_by, received_at, backdated in rows:
        if revision > after:
            history.append(
                RevisionOut(
                    revision=revision,
                    data=data,
                    changes=field_changes(previous, data),
                    submitted_by=submitted_by,
                    received_at=received_at,
                    backdated=backdated,
                )
            )
        previous = data
    return history
