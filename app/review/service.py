"""Reviewing a city's table for a period: approve, return for correction, reopen.

Each decision is a new row of `snapshot_review`, naming the revision it judged; the state it
leaves is written to the snapshot's head row in the same transaction, under the same row
lock the writers of that snapshot take, so a decision and a resubmission never cross: a
decision on a revision that is no longer current is refused (409), and a write to an
approved snapshot is refused (423, `app.reporting.approval.ensure_not_approved`).
"""

import logging
from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from app.campaigns.definition import CampaignDefinition, Table
from app.core.errors import Conflict, FieldError, InvalidInput, NotFound
from app.outbox.models import EventType
from app.outbox.service import record_event
from app.reporting.models import SnapshotHead
from app.reporting.snapshots import SnapshotKey, resolve_target
from app.review.lookup import decisions_of, last_decision
from app.review.models import SnapshotDecision, SnapshotReview, SnapshotReviewState
from app.review.schemas import (
    ReturnedTableOut,
    SnapshotApproveIn,
    SnapshotDecisionOut,
    SnapshotReopenIn,
    SnapshotReturnIn,
    SnapshotReviewOut,
)

logger = logging.getLogger("app.review")

SnapshotReviewBody = SnapshotApproveIn | SnapshotReturnIn | SnapshotReopenIn

ANNOUNCED = {
    SnapshotDecision.approve: EventType.snapshot_approved,
    SnapshotDecision.return_: EventType.snapshot_returned,
}
STATE_AFTER = {
    SnapshotDecision.approve: SnapshotReviewState.approved,
    SnapshotDecision.return_: SnapshotReviewState.returned,
    SnapshotDecision.reopen: SnapshotReviewState.submitted,
}


def _check_comments(table: Table, comments: Iterable[str]) -> None:
    errors = [
        FieldError(
            f"comments.{key}",
            "unknown_key",
            f"{key!r} is not an indicator of table {table.id} (see GET …/tables/{table.id})",
        )
        for key in comments
        if table.indicator(key) is None
    ]
    if errors:
        raise InvalidInput("comments name indicators the table does not have", errors=errors)


def _locked_head(session: Session, key: SnapshotKey) -> SnapshotHead:
    head = session.get(
        SnapshotHead,
        (key.campaign_id, key.city, key.table_id, key.period_id),
        with_for_update=True,
        populate_existing=True,  # the writers update this row with Core statements
    )
    if head is None or head.current_revision == 0:
        raise NotFound(
            f"{key.city} has not submitted {key.table_id} for {key.period_id}: nothing to review"
        )
    return head


def _check_transition(decision: SnapshotDecision, state: str | None) -> None:
    approved = state == SnapshotReviewState.approved
    if decision is SnapshotDecision.reopen and not approved:
        raise Conflict(
            f"only an approved snapshot can be reopened; this one is {state}",
            extra={"review_state": state},
        )
    if decision is not SnapshotDecision.reopen and approved:
        raise Conflict(
            f"the snapshot is approved; reopen it before deciding again ({decision.value})",
            extra={"review_state": state},
        )


def review_snapshot(
    session: Session,
    definition: CampaignDefinition,
    key: SnapshotKey,
    body: SnapshotReviewBody,
    actor: str,
) -> SnapshotReview:
    """Record a decision; returns it (what a notification of it would carry)."""
    target = resolve_target(session, definition, key)
    decision = SnapshotDecision(body.decision)
    comments = body.comments if isinstance(body, SnapshotReturnIn) else {}
    _check_comments(target.table, comments)
    head = _locked_head(session, key)
    if body.revision != head.current_revision:
        raise Conflict(
            f"revision {body.revision} is not current: the current revision is "
            f"{head.current_revision}; read the snapshot again and judge that one",
            extra={"current_revision": head.current_revision},
        )
    _check_transition(decision, head.review_state)
    row = SnapshotReview(
        campaign_id=key.campaign_id,
        city_code=key.city,
        table_id=key.table_id,
        period_id=key.period_id,
        revision=head.current_revision,
        decision=decision.value,
        reason=body.reason,
        comments=comments,
        resubmit_by=body.resubmit_by if isinstance(body, SnapshotReturnIn) else None,
        decided_by=actor,
    )
    head.review_state = STATE_AFTER[decision].value
    session.add(row)
    session.add(head)
    session.flush()
    announced = ANNOUNCED.get(decision)
    if announced is not None:
        record_event(
            session,
            announced,
            key.campaign_id,
            key.city,
            {
                "table": key.table_id,
                "period": key.period_id,
                "revision": row.revision,
                "review_id": row.id,
                "reason": row.reason,
            },
        )
    logger.info(
        "snapshot %s",
        {"approve": "approved", "return": "returned", "reopen": "reopened"}[decision.value],
        extra={
            "campaign": key.campaign_id,
            "city": key.city,
            "table": key.table_id,
            "period": key.period_id,
            "revision": row.revision,
            "client_id": actor,
            "review_id": row.id,
        },
    )
    return row


def review_out(state: str | None, last: SnapshotReview | None) -> SnapshotReviewOut:
    """`state` from the head row; a head written before any decision is `submitted`."""
    return SnapshotReviewOut(
        state=SnapshotReviewState(state or SnapshotReviewState.submitted),
        revision=last.revision if last else None,
        decision=SnapshotDecision(last.decision) if last else None,
        reason=last.reason if last else None,
        comments=last.comments if last else {},
        resubmit_by=last.resubmit_by if last else None,
        by=last.decided_by if last else None,
        at=last.decided_at if last else None,
    )


def decided_out(decision: SnapshotReview) -> SnapshotReviewOut:
    """The review object right after `decision`."""
    return review_out(STATE_AFTER[SnapshotDecision(decision.decision)], decision)


def decision_out(row: SnapshotReview) -> SnapshotDecisionOut:
    return SnapshotDecisionOut(
        revision=row.revision,
        decision=SnapshotDecision(row.decision),
        reason=row.reason,
        comments=row.comments,
        resubmit_by=row.resubmit_by,
        by=row.decided_by,
        at=row.decided_at,
    )


def _head_state(session: Session, key: SnapshotKey) -> str | None:
    return session.exec(
        select(SnapshotHead.review_state).where(
            SnapshotHead.campaign_id == key.campaign_id,
            SnapshotHead.city_code == key.city,
            SnapshotHead.table_id == key.table_id,
            SnapshotHead.period_id == key.period_id,
        )
    ).first()


def snapshot_review(session: Session, key: SnapshotKey) -> SnapshotReviewOut:
    """The review object the snapshot's GET shows."""
    return review_out(_head_state(session, key), last_decision(session, key))


def snapshot_decisions(session: Session, key: SnapshotKey) -> Sequence[SnapshotReview]:
    """Every decision on the snapshot, oldest first."""
    return session.exec(decisions_of(key).order_by(col(SnapshotReview.id))).all()


def returned_tables(session: Session, campaign_id: str, city: str) -> list[ReturnedTableOut]:
    """The city's tables returned and not resubmitted yet, by period and table."""
    returned = session.exec(
        select(SnapshotHead.table_id, SnapshotHead.period_id).where(
            SnapshotHead.campaign_id == campaign_id,
            SnapshotHead.city_code == city,
            SnapshotHead.review_state == SnapshotReviewState.returned.value,
        )
    ).all()
    if not returned:
        return []
    last: dict[tuple[str, str], SnapshotReview] = {}
    for row in session.exec(
        select(SnapshotReview)
        .where(SnapshotReview.campaign_id == campaign_id, SnapshotReview.city_code == city)
        .order_by(col(SnapshotReview.id))
    ):
        last[(row.table_id, row.period_id)] = row
    return [
        ReturnedTableOut(
            table=table,
            period=period,
            review=review_out(SnapshotReviewState.returned, last.get((table, period))),
        )
        for table, period in sorted(returned, key=lambda item: (item[1], item[0]))
    ]
