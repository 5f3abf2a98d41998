"""Bulk loads from files (a past season's archive, a city system's export), through the same
service functions as the API, in chunks, reporting progress as they go."""

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.campaigns.service import get_definition
from app.core.db import session_scope
from app.core.errors import ServiceError
from app.events.writes import ingest
from app.records.receipt import Receipt
from app.records.scope import resolve_scope
from app.reporting import snapshots

EVENT_CHUNK = 5000
Progress = Callable[[int], object]  # e.g. a tqdm bar's update


@dataclass
class LoadReport:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def read_records(path: Path) -> list[dict[str, Any]]:
    """JSON Lines (one object per line), a JSON array, or a CSV with a header row."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return [
            {k: v for k, v in row.items() if v not in ("", None)}
            for row in csv.DictReader(text.splitlines())
        ]
    stripped = text.lstrip()
    if stripped.startswith("["):
        loaded: list[dict[str, Any]] = json.loads(stripped)
        return loaded
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    for offset in range(0, len(items), size):
        yield offset, items[offset : offset + size]


def load_events(
    engine: Engine,
    campaign: str,
    city: str,
    items: list[dict[str, Any]],
    receipt: Receipt,
    progress: Progress,
) -> LoadReport:
    """Events in chunks of 5,000, each chunk its own transaction (like the batch API)."""
    report = LoadReport()
    for session in session_scope(engine):
        scope = resolve_scope(session, campaign, city)
    for offset, chunk in _chunks(items, EVENT_CHUNK):
        for session in session_scope(engine):
            outcome = ingest(session, scope, chunk, receipt, atomic=False)
        for item in outcome.items:
            report.counts[item.status] += 1
            report.problems += [
                f"item {offset + item.index}: {e.field}: {e.message}" for e in item.errors
            ]
        progress(len(chunk))
    return report


def load_snapshots(
    engine: Engine,
    campaign: str,
    rows: list[dict[str, Any]],
    actor: str,
    progress: Progress,
) -> LoadReport:
    """Rows `city, table, period, key, value[, received_at]`: one snapshot per city, table,
    period and receipt time, each validated and stored as a (backdated) revision."""
    grouped: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["city"], row["table"], row["period"], row.get("received_at", ""))
        grouped.setdefault(key, {})[row["key"]] = _number(row["value"])
    report = LoadReport()
    for (city, table, period, received), values in sorted(
        grouped.items(), key=lambda item: item[0][3]
    ):
        claimed = datetime.fromisoformat(received) if received else None
        submission = snapshots.Submission(
            raw=values,
            note="bulk load",
            source="csv",
            submitted_by=actor,
            received_at=(claimed or datetime.now(UTC)).astimezone(UTC),
            backdated=claimed is not None,
        )
        try:
            for session in session_scope(engine):
                definition = get_definition(session, campaign)
                target = snapshots.resolve_target(
                    session, definition, snapshots.SnapshotKey(campaign, city, table, period)
                )
                outcome = snapshots.submit_snapshot(session, definition, target, submission)
            report.counts[outcome.status] += 1
        except ServiceError as exc:
            report.counts["rejected"] += 1
            details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            report.problems.append(f"{city} {table} {period}: {exc.detail} {details}".strip())
        progress(len(values))
    return report


def _number(text: object) -> object:
    """CSV cells are text; the validation rules decide what a good number is."""
    if not isinstance(text, str):
        return text
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
