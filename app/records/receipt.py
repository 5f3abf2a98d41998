"""Who sent a write and when it counts as received (SPEC 6: only administrators may claim
an earlier receipt time, and such writes are marked backdated)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from app.auth.policy import Principal, receipt_time


@dataclass(frozen=True)
class Receipt:
    actor: str
    received_at: datetime
    backdated: bool = False


def receipt_of(principal: Principal, claimed: datetime | None) -> Receipt:
    received_at, backdated = receipt_time(principal, claimed)
    return Receipt(principal.client_id, received_at.astimezone(UTC), backdated)
