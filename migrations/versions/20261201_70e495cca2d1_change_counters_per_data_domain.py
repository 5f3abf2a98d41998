"""change counters per data domain

A campaign's change counter becomes one counter per domain of its data: `events` (the
recruitment-event registry) and `records` (everything else), so that views which do not read
the registry stay memoized through an events import. Existing counters become the `records`
counters; the `events` ones start at their first write.

Revision ID: 70e495cca2d1
Revises: 66c6ddf8fde1
Create Date: 2026-12-01 08:55:52.282384
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "70e495cca2d1"
down_revision: str | None = "66c6ddf8fde1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite cannot change a primary key in place: the batch copies the table.
    with op.batch_alter_table("data_version", recreate="always") as batch_op:
        batch_op.add_column(
            sa.Column(
                "domain",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="records",
            )
        )
        batch_op.drop_constraint("pk_data_version", type_="primary")
        batch_op.create_primary_key("pk_data_version", ["campaign_id", "domain"])


def downgrade() -> None:
    op.execute("DELETE FROM data_version WHERE domain <> 'records'")
    with op.batch_alter_table("data_version", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_data_version", type_="primary")
        batch_op.create_primary_key("pk_data_version", ["campaign_id"])
        batch_op.drop_column("domain")
