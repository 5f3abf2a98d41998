"""Migrations that carry data: what an upgrade computes for rows written before it."""

from alembic import command
from sqlalchemy import text

from app.campaigns.loading import load_campaigns
from app.core.db import create_db_engine, session_scope
from app.core.migrations import alembic_config, upgrade_to_head
from app.core.settings import Settings

BEFORE_INDICATOR_COUNT = "57c2f89cc9ea"


def test_existing_snapshot_heads_get_their_indicator_count(live_settings: Settings) -> None:
    url = live_settings.sqlalchemy_url
    command.upgrade(alembic_config(url), BEFORE_INDICATOR_COUNT)
    engine = create_db_engine(url)
    for session in session_scope(engine):
        load_campaigns(session)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO snapshot_head (campaign_id, city_code, table_id, period_id, "
                "current_revision, current_values) VALUES ('js-2024', '320100', 't1', 'W02', 1, "
                '\'{"fairs_total": "3", "fairs_online": "1", "postings_total": "900"}\')'
            )
        )
    upgrade_to_head(url)
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT indicator_count FROM snapshot_head WHERE period_id = 'W02'")
        ).scalar_one()
    engine.dispose()
    assert count == 3


BEFORE_REVIEW = "fc365c366e41"


def test_existing_snapshot_heads_await_review(live_settings: Settings) -> None:
    url = live_settings.sqlalchemy_url
    config = alembic_config(url)
    command.upgrade(config, BEFORE_REVIEW)  # a fresh database
    command.downgrade(config, BEFORE_REVIEW)  # one an earlier test took to head
    engine = create_db_engine(url)
    for session in session_scope(engine):
        load_campaigns(session)
    with engine.begin() as connection:
        for period, revision in (("W05", 2), ("W06", 0)):
            connection.execute(
                text(
                    "INSERT INTO snapshot_head (campaign_id, city_code, table_id, period_id, "
                    "current_revision, current_values, indicator_count) VALUES "
                    "('js-2024', '320100', 't2', :period, :revision, '{}', 0)"
                ),
                {"period": period, "revision": revision},
            )
    upgrade_to_head(url)
    with engine.connect() as connection:
        states: dict[str, str | None] = dict(
            connection.execute(
                text("SELECT period_id, review_state FROM snapshot_head WHERE table_id = 't2'")
            ).all()
        )
    engine.dispose()
    assert states == {"W05": "submitted", "W06": None}
