"""Writers of one city's records of one kind queue behind each other.

SQLite already serialises writers (every transaction begins IMMEDIATE); on PostgreSQL a
transaction-scoped advisory lock does, so two concurrent upserts of the same new external
id cannot both insert it.
"""

from sqlalchemy import func, select
from sqlmodel import Session


def serialize_writes(session: Session, *key: str) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended("/".join(key), 0))))
