"""snapshot head indicator count

How many indicators each current snapshot holds, kept by every write, so that compliance
shows each table's completeness without counting inside thousands of JSON documents.
Existing heads are counted once here.

Revision ID: fc365c366e41
Revises: 57c2f89cc9ea
Create Date: 2026-11-30 16:42:45.721708
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fc365c366e41"
down_revision: str | None = "57c2f89cc9ea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNT_KEYS = {
    "postgresql": "(SELECT count(*) FROM jsonb_object_keys(current_values))",
    "sqlite": "(SELECT count(*) FROM json_each(current_values))",
}


def upgrade() -> None:
    with op.batch_alter_table("snapshot_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("indicator_count", sa.Integer(), nullable=False, server_default="0")
        )
    counted = COUNT_KEYS[op.get_bind().dialect.name]
    op.execute(f"UPDATE snapshot_head SET indicator_count = {counted}")  # noqa: S608


def downgrade() -> None:
    with op.batch_alter_table("snapshot_head", schema=None) as batch_op:
        batch_op.drop_column("indicator_count")
