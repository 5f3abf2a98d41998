"""Work queues in tables: a worker takes a time-limited lease on rows that are due, so that
several workers (threads or processes) never work on one row at once, and a worker that dies
only delays its rows until the lease runs out."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select


def claim_due(
    session: Session,
    model: type[SQLModel],
    *,
    free: Sequence[Any],
    due: Sequence[Any],
    order_by: Sequence[Any],
    limit: int,
    values: Mapping[str, Any],
    returning: Sequence[Any],
) -> list[tuple[Any, ...]]:
    """Set `values` (the lease) on up to `limit` rows that are `free` and `due`, in `order_by`
    order, and return their `returning` columns. Rows another worker is claiming are skipped
    (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer at a time), and `free` is
    checked again on each row as it is when locked: PostgreSQL re-reads a row another worker
    changed meanwhile."""
    row_id = col(model.id)  # type: ignore[attr-defined]
    # Chosen once, before any row is leased: as a plain `IN (subquery)` PostgreSQL may run
    # the subquery again for every row it updates, and a row this statement has just leased
    # is then skipped as locked and the next one taken, past the limit (found with two
    # workers: a claim of one took every due row). A materialized CTE runs once.
    candidates = (
        select(row_id)
        .where(*free, *due)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True, of=model)  # rendered on PostgreSQL only
        .cte("candidates")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    statement = (
        update(model)
        .where(row_id.in_(select(candidates.c.id)), *free)
        .values(**values)
        .returning(*returning)
        .execution_options(synchronize_session=False)
    )
    return [tuple(row) for row in session.execute(statement)]
