"""Period locks refuse writes with 423: an administrator closes a period for every city or
for one city. Snapshots, cases and events check them before they write; an approved snapshot
(a reviewer froze one city's table) is refused too, by `app.reporting.approval`."""

import logging

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.campaigns.definition import CampaignDefinition
from app.campaigns.service import campaign_periods, get_period, get_reporting_city
from app.core.errors import Locked
from app.locks.models import PeriodLock
from app.outbox.models import EventType
from app.outbox.service import record_event

logger = logging.getLogger("app.locks")


# Built once: every snapshot write checks the locks of its period.
_LOCKS_OF_CAMPAIGN = (
    select(PeriodLock)
    .where(PeriodLock.campaign_id == bindparam("campaign_id"))
    .order_by(col(PeriodLock.id))
)
_LOCKS_OF_PERIOD = _LOCKS_OF_CAMPAIGN.where(PeriodLock.period_id == bindparam("period_id"))


def current_locks(
    session: Session, campaign_id: str, period_id: str | None = None
) -> list[PeriodLock]:
    """The deciding row per (period, city) that is locked now."""
    if period_id is None:
        rows = session.exec(_LOCKS_OF_CAMPAIGN, params={"campaign_id": campaign_id})
    else:
        rows = session.exec(
            _LOCKS_OF_PERIOD, params={"campaign_id": campaign_id, "period_id": period_id}
        )
    latest: dict[tuple[str, str | None], PeriodLock] = {}
    for row in rows.all():
        latest[(row.period_id, row.city_code)] = row
    return [row for row in latest.values() if row.locked]


def ensure_unlocked(
    session: Session, campaign_id: str, period_id: str, city: str, client_id: str
) -> None:
    locks = [
        lock
        for lock in current_locks(session, campaign_id, period_id)
        if lock.city_code in (None, city)
    ]
    if locks:
        lock = locks[0]
        scope = "every city" if lock.city_code is None else f"city {city}"
        logger.warning(
            "write refused: period locked",
            extra={
                "campaign": campaign_id,
                "period": period_id,
                "city": city,
                "client_id": client_id,
                "lock_id": lock.id,
            },
        )
        raise Locked(
            f"{period_id} is locked for {scope} since {lock.set_at.isoformat()} "
            f"({lock.reason}); ask the province to unlock it",
            extra={"locked_at": lock.set_at.isoformat(), "lock_reason": lock.reason},
        )


def set_lock(
    session: Session,
    definition: CampaignDefinition,
    period_id: str,
    city: str | None,
    *,
    locked: bool,
    reason: str,
    actor: str,
) -> PeriodLock:
    get_period(campaign_periods(session, definition), period_id)
    if city is not None:
        get_reporting_city(session, definition, city)
    row = PeriodLock(
        campaign_id=definition.id,
        period_id=period_id,
        city_code=city,
        locked=locked,
        reason=reason,
        set_by=actor,
    )
    session.add(row)
    session.flush()
    if locked:
        record_event(
            session,
            EventType.period_locked,
            definition.id,
            city,
            {"period": period_id, "lock_id": row.id},
        )
    return row
