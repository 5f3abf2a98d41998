"""E-mail reminders to each city's contact (its current contact e-mail).

A worker claims pending notifications with a lease (one atomic UPDATE; on PostgreSQL the
rows are picked `FOR UPDATE SKIP LOCKED`, so workers never claim the same row), then talks
SMTP outside any database transaction, and records each outcome at once. A failure is
retried later (the lease doubles as the time of the next attempt) until the last attempt
marks it failed. A worker killed between sending and recording sends that message again
after its lease: at least once, never silently lost.

The address is personal data: it is read only to send, and never logged or stored with an
error (SMTP errors often quote it).
"""

import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import Engine
from sqlmodel import Session, col, select, update

from app.campaigns.calendar import Period
from app.campaigns.definition import CampaignDefinition
from app.campaigns.service import campaign_periods, get_definition
from app.contacts.models import CityContact
from app.core.leases import claim_due
from app.core.settings import Settings
from app.regions.models import Region
from app.reminders.models import EmailStatus, Notification

logger = logging.getLogger("app.reminders.email")

MAX_EMAIL_ATTEMPTS = 4
RETRY_BASE = timedelta(minutes=1)  # then 2, 4 minutes
BATCH = 20
MAX_ERROR_LENGTH = 500
_ADDRESS = re.compile(r"[^\s<>()\[\]'\"@,;:]+@[^\s<>()\[\]'\",;:]+")
WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


@dataclass(frozen=True)
class Outgoing:
    notification_id: int
    attempts: int  # this one included
    address: str | None
    message: EmailMessage | None


def send_pending_emails(engine: Engine, settings: Settings, worker_id: str, now: datetime) -> int:
    """Send the pending e-mails (a batch); returns how many were attempted (sent or not)."""
    if settings.smtp_host is None:
        return 0
    lease = now + _lease_duration(settings)
    claimed = _claim(engine, now, lease)
    if not claimed:
        return 0
    outgoing = _compose(engine, settings, claimed, now)
    _send_all(engine, settings, worker_id, outgoing, now, lease)
    return len(outgoing)


def _lease_duration(settings: Settings) -> timedelta:
    # Connecting, STARTTLS, login and every message may each take up to the timeout.
    return timedelta(seconds=settings.smtp_timeout_seconds * (BATCH + 3) + 30)


def _claim(engine: Engine, now: datetime, lease: datetime) -> dict[int, int]:
    """id -> attempts (this one included) of the notifications this worker now holds."""
    with Session(engine) as session:
        rows = claim_due(
            session,
            Notification,
            free=(
                col(Notification.email_status) == EmailStatus.pending.value,
                (col(Notification.email_lease_until).is_(None))
                | (col(Notification.email_lease_until) <= now),
            ),
            due=(),
            order_by=(col(Notification.id),),
            limit=BATCH,
            values={
                "email_lease_until": lease,
                "email_attempts": col(Notification.email_attempts) + 1,
            },
            returning=(col(Notification.id), col(Notification.email_attempts)),
        )
        session.commit()
    return {notification_id: attempts for notification_id, attempts in rows}


def _compose(
    engine: Engine, settings: Settings, claimed: dict[int, int], now: datetime
) -> list[Outgoing]:
    with Session(engine) as session:
        rows = session.exec(
            select(Notification)
            .where(col(Notification.id).in_(claimed))
            .order_by(col(Notification.id))
        ).all()
        contacts = {
            (c.campaign_id, c.city_code): c.email
            for c in session.exec(
                select(CityContact).where(
                    col(CityContact.city_code).in_({r.city_code for r in rows})
                )
            ).all()
        }
        names = dict(
            session.exec(
                select(Region.code, Region.name).where(
                    col(Region.code).in_({r.city_code for r in rows})
                )
            ).all()
        )
        periods: dict[str, list[Period]] = {}
        outgoing = []
        for row in rows:
            assert row.id is not None
            definition = get_definition(session, row.campaign_id)
            if definition.id not in periods:
                periods[definition.id] = campaign_periods(session, definition)
            address = contacts.get((row.campaign_id, row.city_code)) or None
            message = None
            if address is not None:
                message = compose_message(
                    definition,
                    periods[definition.id],
                    row,
                    names.get(row.city_code, row.city_code),
                    sender=settings.smtp_sender,
                    address=address,
                    sent_at=now,
                )
            outgoing.append(Outgoing(row.id, claimed[row.id], address, message))
        session.commit()
    return outgoing


def compose_message(
    definition: CampaignDefinition,
    periods: Sequence[Period],
    row: Notification,
    city_name: str,
    *,
    sender: str,
    address: str,
    sent_at: datetime,
) -> EmailMessage:
    """The reminder in Chinese: what is due, for which period, and when (local time)."""
    # A deliverable since removed from the definition is named by its id.
    deliverable = next((d for d in definition.deliverables if d.id == row.deliverable), None)
    name = deliverable.name_zh if deliverable else row.deliverable
    least = deliverable.min_count if deliverable else 1
    zone = definition.zone
    clock = "北京时间" if definition.timezone == "Asia/Shanghai" else definition.timezone
    due = _local_text(row.due.astimezone(zone))
    checked = _local_text(row.fire_at.astimezone(zone))
    item = f"“{name}”"
    if row.period_id is not None:
        period = next((p for p in periods if p.id == row.period_id), None)
        span = f"，{_day_text(period.start)}至{_day_text(period.end)}" if period else ""
        item += f"（{row.period_id}{span}）"
    if least > 1:
        item += f"（每期至少{least}个）"
    which = name + (f" {row.period_id}" if row.period_id else "")
    if row.fire_at < row.due:
        subject = f"【催报】{which} 将于{due}截止"
        text = (
            f"{definition.name_zh}{item}应于{due}（{clock}）前报送。"
            f"截至{checked}，系统尚未收到贵市的报送，请抓紧报送。"
        )
    else:
        subject = f"【逾期未报】{which} 已过截止时间{due}"
        text = (
            f"{definition.name_zh}{item}的报送截止时间为{due}（{clock}）。"
            f"截至{checked}，系统仍未收到贵市的报送，请尽快补报。"
        )
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = address
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(
        idstring=f"notification-{row.id}", domain=sender.rpartition("@")[2] or "localhost"
    )
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"{city_name}：\n\n{text}\n\n此邮件由{definition.name_zh}报送系统自动发送，请勿直接回复。\n"
    )
    return message


def _local_text(instant: datetime) -> str:
    weekday = WEEKDAYS_ZH[instant.weekday()]
    return f"{instant.year}年{instant.month}月{instant.day}日（{weekday}）{instant:%H:%M}"


def _day_text(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _send_all(
    engine: Engine,
    settings: Settings,
    worker_id: str,
    outgoing: list[Outgoing],
    now: datetime,
    lease: datetime,
) -> None:
    try:
        smtp = _connect(settings)
    except (smtplib.SMTPException, OSError) as exc:
        for item in outgoing:
            _record(engine, worker_id, item, now, lease, _describe(exc))
        return
    try:
        for index, item in enumerate(outgoing):
            if item.address is None or item.message is None:
                _record(engine, worker_id, item, now, lease, "the city has no contact e-mail")
                continue
            try:
                print(
                    "DEBUG",
                    item.notification_id,
                    item.address,
                    item.message["To"],
                    item.message["Subject"],
                )
                smtp.send_message(item.message, settings.smtp_sender, [item.address])
            except (
                smtplib.SMTPRecipientsRefused,
                smtplib.SMTPResponseException,
                smtplib.SMTPNotSupportedError,
                ValueError,
            ) as exc:
                # This message was refused; the connection still serves the next one.
                _record(engine, worker_id, item, now, lease, _describe(exc))
                continue
            except OSError as exc:  # SMTPServerDisconnected among them
                # The connection is gone: this and every later message failed this time.
                for failed in outgoing[index:]:
                    _record(engine, worker_id, failed, now, lease, _describe(exc))
                return
            _record(engine, worker_id, item, now, lease, None)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _connect(settings: Settings) -> smtplib.SMTP:
    assert settings.smtp_host is not None
    smtp = smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    )
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _describe(error: BaseException) -> str:
    """The error without any address in it (a server may quote any of them)."""
    return _ADDRESS.sub("<address>", f"{type(error).__name__}: {error}")[:MAX_ERROR_LENGTH]


def _record(
    engine: Engine,
    worker_id: str,
    item: Outgoing,
    now: datetime,
    lease: datetime,
    error: str | None,
) -> None:
    """Only while this worker's lease holds: a worker whose lease ran out has lost the row to
    another, whose outcome counts."""
    if error is None:
        values: dict[str, object] = {
            "email_status": EmailStatus.sent.value,
            "email_sent_at": now,
            "email_lease_until": None,
            "email_error": None,
        }
    elif item.attempts >= MAX_EMAIL_ATTEMPTS:
        values = {
            "email_status": EmailStatus.failed.value,
            "email_lease_until": None,
            "email_error": error,
        }
    else:
        values = {
            "email_lease_until": now + RETRY_BASE * 2 ** (item.attempts - 1),
            "email_error": error,
        }
    with Session(engine) as session:
        session.execute(
            update(Notification)
            .where(
                col(Notification.id) == item.notification_id,
                col(Notification.email_lease_until) == lease,
                col(Notification.email_status) == EmailStatus.pending.value,
            )
            .values(**values)
        )
        session.commit()
    extra = {"notification": item.notification_id, "worker": worker_id, "attempt": item.attempts}
    if error is None:
        logger.info("reminder e-mail sent", extra=extra)
    else:
        logger.warning(
            "reminder e-mail failed%s: %s",
            "" if "email_status" not in values else ", giving up",
            error,
            extra=extra,
        )
