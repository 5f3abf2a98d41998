"""snapshot head values as jsonb on postgresql

Goal tracking reads one indicator out of every current snapshot; jsonb answers that without
re-parsing each document. SQLite keeps its JSON text (nothing to change there).

Revision ID: 176ae5138eb7
Revises: 84f7c4fef511
Create Date: 2026-11-29 16:47:08.056753
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "176ae5138eb7"
down_revision: str | None = "84f7c4fef511"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _on_postgresql():
        op.alter_column(
            "snapshot_head",
            "current_values",
            existing_type=postgresql.JSON(astext_type=sa.Text()),
            type_=postgresql.JSONB(astext_type=sa.Text()),
            existing_nullable=False,
            postgresql_using="current_values::jsonb",
        )


def downgrade() -> None:
    if _on_postgresql():
        op.alter_column(
            "snapshot_head",
            "current_values",
            existing_type=postgresql.JSONB(astext_type=sa.Text()),
            type_=postgresql.JSON(astext_type=sa.Text()),
            existing_nullable=False,
            postgresql_using="current_values::json",
        )
