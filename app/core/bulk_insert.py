"""Inserting thousands of new rows at once.

On PostgreSQL the rows are streamed with COPY: one command whatever their number, where an
executemany INSERT binds and sends every row as a statement of its own (a 5,000-event import
spent most of its time there). Elsewhere the INSERT runs as an executemany. Either way the
table's change counters move as for any other write.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import sql
from sqlalchemy import Table, insert
from sqlmodel import Session

from app.core.changes import mark_written


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, `campaign_id` among them) into `table`."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    mark_written(connection, table.name, {row["campaign_id"] for row in rows})
    names = list(rows[0])
    # What SQLAlchemy would do to each value before binding it (an instant to UTC, say).
    processors = [
        (index, processor)
        for index, name in enumerate(names)
        if (processor := table.c[name].type.bind_processor(connection.dialect)) is not None
    ]
    command = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver_connection: Any = connection.connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(command) as copy:
        for row in rows:
            values = [row[name] for name in names]
            for index, processor in processors:
                values[index] = processor(values[index])
            copy.write_row(values)
