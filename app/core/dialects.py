"""Statements that differ between SQLite and PostgreSQL, built once for each."""

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite

Built = TypeVar("Built")


def per_dialect(build: Callable[[Any], Built]) -> dict[str, Built]:
    """An upsert statement built once for each database, from that database's `insert`
    (ON CONFLICT is dialect-specific); pick it with `connection.dialect.name`. Hot write
    paths run one per write, and building costs more than executing."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}
