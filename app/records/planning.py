"""Query planning for bulk lookups on PostgreSQL.

psycopg prepares a statement on the server once it has run five times, and PostgreSQL may
then switch to a *generic* plan that ignores the parameters' values. For a lookup such as
`external_id IN (<5,000 parameters>)` the generic plan filters every row of the city
against the whole list: a 0.1 s query becomes 15 s from the eleventh batch on. Such lookups
run inside `planned_for_parameters`, which asks for plans made for the actual values (and
only there: planning a 1,000-row INSERT afresh every time is costly too).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlmodel import Session


@contextmanager
def planned_for_parameters(session: Session) -> Iterator[None]:
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    try:
        yield
    finally:
        session.execute(text("SET LOCAL plan_cache_mode = DEFAULT"))
