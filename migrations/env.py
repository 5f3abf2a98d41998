"""Alembic environment: the schema is SQLModel's metadata, with every model imported."""

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.core.changes import MIGRATION
from app.core.db import create_db_engine
from app.core.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    explicit = config.attributes.get("database_url")
    if explicit:
        return str(explicit)
    return get_settings().sqlalchemy_url


def _configure(connection: Connection) -> None:
    connection.execution_options(**{MIGRATION: True})
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_db_engine(_url())
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
