"""Reads of the decision table that a snapshot write needs too: `app.reporting.approval` uses
them, and `app.review.service` depends on the reporting package, so they live apart."""

from typing import TYPE_CHECKING

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.review.models import SnapshotReview

if TYPE_CHECKING:
    from app.reporting.snapshots import SnapshotKey


def decisions_of(key: "SnapshotKey") -> SelectOfScalar[SnapshotReview]:
    return select(SnapshotReview).where(
        SnapshotReview.campaign_id == key.campaign_id,
        SnapshotReview.city_code == key.city,
        SnapshotReview.table_id == key.table_id,
        SnapshotReview.period_id == key.period_id,
    )


def last_decision(session: Session, key: "SnapshotKey") -> SnapshotReview | None:
    return session.exec(decisions_of(key).order_by(col(SnapshotReview.id).desc()).limit(1)).first()
