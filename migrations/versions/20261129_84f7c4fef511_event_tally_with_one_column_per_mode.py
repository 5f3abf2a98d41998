"""event tally with one column per mode

One row per county and period instead of one per mode: goal tracking then reads the
county-week counts without aggregating them. The tally is rebuilt from the registry.

Revision ID: 84f7c4fef511
Revises: dcf459dc9ea9
Create Date: 2026-11-29 16:36:38.027167
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "84f7c4fef511"
down_revision: str | None = "dcf459dc9ea9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("county_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("period_id", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    ]


def _references() -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_event_tally_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["city_code"], ["region.code"], name=op.f("fk_event_tally_city_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["county_code"], ["region.code"], name=op.f("fk_event_tally_county_code_region")
        ),
    ]


def upgrade() -> None:
    op.drop_table("event_tally")
    op.create_table(
        "event_tally",
        *_key(),
        sa.Column("city_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("offline", sa.Integer(), nullable=False),
        *_references(),
        sa.PrimaryKeyConstraint(
            "campaign_id", "county_code", "period_id", name=op.f("pk_event_tally")
        ),
    )
    op.execute(
        """
        INSERT INTO event_tally
            (campaign_id, county_code, period_id, city_code, online, offline)
        SELECT campaign_id, county_code, period_id, min(city_code),
               sum(CASE WHEN mode = 'online' THEN 1 ELSE 0 END),
               sum(CASE WHEN mode = 'offline' THEN 1 ELSE 0 END)
        FROM recruitment_event
        GROUP BY campaign_id, county_code, period_id
        """
    )


def downgrade() -> None:
    op.drop_table("event_tally")
    op.create_table(
        "event_tally",
        *_key(),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("city_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        *_references(),
        sa.PrimaryKeyConstraint(
            "campaign_id", "county_code", "period_id", "mode", name=op.f("pk_event_tally")
        ),
    )
    op.execute(
        """
        INSERT INTO event_tally (campaign_id, county_code, period_id, mode, city_code, count)
        SELECT campaign_id, county_code, period_id, mode, min(city_code), count(*)
        FROM recruitment_event
        GROUP BY campaign_id, county_code, period_id, mode
        """
    )
