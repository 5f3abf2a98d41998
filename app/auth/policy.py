"""Who may do what: the caller as the services see it, and the rules on roles, cities and
receipt times. Pure policy, no web framework: `app.auth.dependencies` turns a request into a
`Principal` and applies these checks as FastAPI dependencies; services import only this."""

from dataclasses import dataclass
from datetime import datetime

from app.auth.models import Role
from app.core.errors import FieldError, Forbidden
from app.core.types import utc_now


@dataclass(frozen=True)
class Principal:
    client_id: str
    role: Role
    city: str | None


@dataclass(frozen=True)
class CityAccess:
    principal: Principal
    city: str


REVIEWING_ROLES = frozenset({Role.reviewer, Role.admin})


def check_admin(principal: Principal) -> None:
    if principal.role is not Role.admin:
        raise Forbidden(
            f"this needs the admin role; client {principal.client_id!r} is a {principal.role.value}"
        )


def check_province_reader(principal: Principal) -> None:
    """Viewers, reviewers and admins: province-wide raw views that cities do not get."""
    if principal.role is Role.reporter:
        raise Forbidden("this province-wide view is for viewers and administrators")


def check_reviewer(principal: Principal) -> None:
    """Reviewers and admins: approve, return and reopen submissions, adopt cases."""
    if principal.role not in REVIEWING_ROLES:
        raise Forbidden(
            "this needs the reviewer or admin role; "
            f"client {principal.client_id!r} is a {principal.role.value}"
        )


def check_city(principal: Principal, city: str, *, write: bool) -> None:
    """A reporter touches only its own city; viewers and reviewers read every city (reviewers
    judge through the review routes, never by writing a city's records); admins do anything."""
    if principal.role is Role.admin:
        return
    if principal.role is Role.reporter:
        if principal.city != city:
            raise Forbidden(
                f"client {principal.client_id!r} reports for {principal.city} "
                f"and may not touch {city}"
            )
        return
    if write:
        raise Forbidden(
            f"{principal.role.value}s read; only the city itself or an administrator writes"
        )


def receipt_time(principal: Principal, claimed: datetime | None) -> tuple[datetime, bool]:
    """When a write counts as received: the server's clock, except for an administrator
    loading a past season, whose claimed time is kept and marked backdated."""
    if claimed is None:
        return utc_now(), False
    if principal.role is not Role.admin:
        raise Forbidden(
            "only administrators may set received_at",
            errors=[FieldError("received_at", "not_allowed", "the server records receipt time")],
        )
    return claimed, True
