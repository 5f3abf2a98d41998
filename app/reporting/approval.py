"""An approved snapshot refuses writes with 423: a reviewer froze one city's table until a
reviewer reopens it. (Period locks, which refuse every kind of write, live in `app.locks`.)"""

import logging
from typing import TYPE_CHECKING

from sqlmodel import Session

from app.core.errors import Locked
from app.review.lookup import last_decision
from app.review.models import SnapshotReviewState

if TYPE_CHECKING:
    from app.reporting.snapshots import SnapshotKey

# The same logger as the period locks': every 423 refusal is logged under one name.
logger = logging.getLogger("app.locks")


def ensure_not_approved(
    session: Session, key: "SnapshotKey", review_state: str | None, client_id: str
) -> None:
    """`review_state` is the one on the snapshot's head row, read (and locked) by the writer."""
    if review_state != SnapshotReviewState.approved:
        return
    approval = last_decision(session, key)
    assert approval is not None  # the decision that set the state
    logger.warning(
        "write refused: snapshot approved",
        extra={
            "campaign": key.campaign_id,
            "period": key.period_id,
            "city": key.city,
            "table": key.table_id,
            "client_id": client_id,
            "review_id": approval.id,
        },
    )
    raise Locked(
        f"{key.table_id} {key.period_id} of {key.city} was approved (revision "
        f"{approval.revision}) by {approval.decided_by} at {approval.decided_at.isoformat()}; "
        "it cannot change until a reviewer reopens it",
        extra={
            "approved_revision": approval.revision,
            "approved_by": approval.decided_by,
            "approved_at": approval.decided_at.isoformat(),
        },
    )
