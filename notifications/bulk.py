"""Writes for bulk notifications: materialise deliveries, claim and send batches, finish.

The Delivery rows are the truth. Every state change is a guarded UPDATE, so a batch that
Redis delivers twice (a worker was killed; acks are late) skips rows already sent, and a
cancelled notification sends nothing more.
"""

from __future__ import annotations

import email.policy
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from notifications.audience import audience_recipients, audience_users
from notifications.mailer import SENT, Mailer
from notifications.models import Delivery, Notification
from notifications.selectors import delivery_counts
from notifications.services import retry_delay

Status = Notification.Status
DStatus = Delivery.Status
CREATE_CHUNK = 1000
FINAL = (DStatus.SENT, DStatus.FAILED, DStatus.SKIPPED)
CANCEL_CHECK_SECONDS = 0.2  # how soon a running batch notices a cancel


class NotificationStateError(Exception):
    """The notification is not in a state that allows this; the message says why."""


def deliveries_materialise(*, notification: Notification) -> int:
    """One Delivery row per recipient; duplicates dropped by the unique constraint."""
    if notification.audience != Notification.Audience.ADDRESSES:
        return _user_deliveries_insert(notification)
    created, chunk = 0, []
    for user_id, address, error in audience_recipients(notification):
        chunk.append(Delivery(
            notification=notification, user_id=user_id, email=address,
            status=DStatus.FAILED if error else DStatus.PENDING, last_error=error,
        ))
        if len(chunk) >= CREATE_CHUNK:
            created += len(Delivery.objects.bulk_create(chunk, ignore_conflicts=True))
            chunk = []
    created += len(Delivery.objects.bulk_create(chunk, ignore_conflicts=True))
    return created


def _user_deliveries_insert(notification: Notification) -> int:
    """INSERT … SELECT from the users table: no rows through Python, one statement for any
    audience size (the ORM has no INSERT … SELECT; bulk_create would load every user)."""
    users = audience_users(notification).values("pk", "email")
    select_sql, params = users.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ("notification_id", "user_id", "email", "status", "attempts", "last_error",
               "message_id", "claim", "updated_at")
    sql = (
        f"INSERT INTO {quote(Delivery._meta.db_table)} ({', '.join(map(quote, columns))}) "
        f"SELECT %s, audience.pk, LOWER(audience.email), %s, 0, '', '', '', %s "
        f"FROM ({select_sql}) AS audience WHERE true "  # WHERE: SQLite's upsert grammar
        f"ON CONFLICT ({quote('notification_id')}, {quote('email')}) DO NOTHING"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [notification.pk, DStatus.PENDING, now, *params])
        return cursor.rowcount


def _batches(notification_id: int, statuses) -> list[list[int]]:
    ids = list(Delivery.objects.filter(notification_id=notification_id, status__in=statuses)
               .order_by("pk").values_list("pk", flat=True))
    size = settings.NOTIFICATION_BATCH_SIZE
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def notification_start(*, notification_id: int) -> list[list[int]] | None:
    """Move a draft/scheduled notification to sending and materialise its deliveries.

    Returns the batches of delivery ids still to send (also when the notification was
    already sending: a redelivered start continues), or None when it may not be sent.
    """
    with transaction.atomic():
        started = Notification.objects.filter(
            pk=notification_id, status__in=[Status.DRAFT, Status.SCHEDULED]
        ).update(status=Status.SENDING, started_at=timezone.now(), finished_at=None)
        notification = Notification.objects.filter(pk=notification_id).first()
        if notification is None or notification.status != Status.SENDING:
            return None
        if started:
            deliveries_materialise(notification=notification)
    return _batches(notification_id, [DStatus.PENDING, DStatus.SENDING])


def _claim(notification_id: int, delivery_ids: list[int], run_id: str) -> list[dict]:
    """Take this batch's unsent rows (its own rows only, so a re-run may take back rows
    left 'sending' by a killed run). SKIP LOCKED on PostgreSQL; a guarded UPDATE elsewhere."""
    now = timezone.now()
    due = (Q(pk__in=delivery_ids, notification_id=notification_id,
             notification__status=Status.SENDING, status__in=[DStatus.PENDING, DStatus.SENDING])
           & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))
    with transaction.atomic():
        rows = Delivery.objects.filter(due)
        if connection.features.has_select_for_update_skip_locked:
            ids = list(rows.select_for_update(skip_locked=True, of=("self",))
                       .values_list("pk", flat=True))
            rows = Delivery.objects.filter(pk__in=ids)
        rows.update(status=DStatus.SENDING, claim=run_id, updated_at=now)
    return list(Delivery.objects.filter(claim=run_id, status=DStatus.SENDING)
                .order_by("pk").values("pk", "email", "attempts"))


def rate_limit_wait(limit: int) -> None:
    """Block until this send fits the per-minute `limit` shared by every worker (via Redis)."""
    while limit:
        minute = int(time.time() // 60)
        key = f"notifications:rate:{minute}"
        cache.add(key, 0, timeout=120)
        if cache.incr(key) <= limit:
            return
        time.sleep(max(0.05, (minute + 1) * 60 - time.time()))


def _message(notification: Notification, address: str) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=notification.subject, body=notification.text_body,
                                     from_email=settings.DEFAULT_FROM_EMAIL, to=[address])
    if notification.html_body:
        message.attach_alternative(notification.html_body, "text/html")
    return message


class RenderedNotification:
    """The notification rendered to MIME bytes once; per recipient only To and Message-ID
    change. Rendering a MIME message costs more than sending it over SMTP, and no mail
    library offers per-recipient re-addressing of rendered bytes."""

    TO = "bo-recipient@placeholder.invalid"
    ID = "<bo-message-id@placeholder.invalid>"

    def __init__(self, notification: Notification):
        message = _message(notification, self.TO)
        message.extra_headers["Message-ID"] = self.ID
        self.from_email = message.from_email
        self.template = message.message(policy=email.policy.SMTP).as_bytes()
        self.reusable = self.template.count(self.TO.encode()) == 1 and \
            self.template.count(self.ID.encode()) == 1

    def payload(self, address: str) -> tuple[bytes, str] | None:
        """(bytes, message id) for `address`, or None when it needs a full rendering."""
        if not self.reusable or not address.isascii():
            return None
        message_id = make_msgid(domain=DNS_NAME.get_fqdn())
        data = self.template.replace(self.TO.encode(), address.encode(), 1)
        return data.replace(self.ID.encode(), message_id.encode(), 1), message_id


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    retry_in: float | None = None
    cancelled: bool = False

    def as_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "retrying": self.retrying,
                "cancelled": self.cancelled}


def batch_send(*, notification_id: int, delivery_ids: list[int]) -> BatchResult:
    """Send this batch's claimable rows over one SMTP connection, committing each outcome."""
    run_id = uuid.uuid4().hex
    rows = _claim(notification_id, delivery_ids, run_id)
    result = BatchResult()
    if rows:
        _send_rows(notification_id, rows, run_id, result)
    # Rows waiting for a retry, claimed or not this time, decide when the batch runs again.
    next_due = Delivery.objects.filter(
        pk__in=delivery_ids, status=DStatus.PENDING,
        notification__status=Status.SENDING).aggregate(due=Min("next_attempt_at"))["due"]
    if next_due is not None:
        result.retry_in = max(0.05, (next_due - timezone.now()).total_seconds())
    return result


def _send_rows(notification_id: int, rows: list[dict], run_id: str, result: BatchResult):
    notification = Notification.objects.get(pk=notification_id)
    rendered = RenderedNotification(notification)
    rate_limit = settings.EMAIL_RATE_LIMIT_PER_MINUTE
    next_cancel_check = time.monotonic() + CANCEL_CHECK_SECONDS
    with Mailer() as mailer, connection.cursor() as cursor:
        for row in rows:
            if time.monotonic() >= next_cancel_check:
                if Notification.objects.filter(pk=notification_id,
                                               status=Status.CANCELLED).exists():
                    result.cancelled = True
                    break
                next_cancel_check = time.monotonic() + CANCEL_CHECK_SECONDS
            rate_limit_wait(rate_limit)
            prepared = rendered.payload(row["email"]) if mailer.sends_raw else None
            if prepared is None:
                outcome = mailer.send(_message(notification, row["email"]))
            else:
                outcome = mailer.send_raw(from_email=rendered.from_email,
                                          recipient=row["email"], payload=prepared[0],
                                          message_id=prepared[1])
            _record(cursor, row, outcome, run_id, result)
    # Rows this run claimed but did not reach (cancelled): skipped, never sent.
    Delivery.objects.filter(claim=run_id, status=DStatus.SENDING).update(
        status=DStatus.SKIPPED, claim="", last_error="cancelled before sending")


@lru_cache(maxsize=4)
def _sent_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    table = quote(Delivery._meta.db_table)
    columns = ("status", "attempts", "last_smtp_code", "last_error", "claim", "updated_at",
               "sent_at", "message_id", "next_attempt_at")
    values = ("%s", "%s", "NULL", "''", "''", "%s", "%s", "%s", "NULL")
    assignments = ", ".join(f"{quote(c)} = {v}" for c, v in zip(columns, values, strict=True))
    return f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s AND {quote('claim')} = %s"


def _record_sent(cursor, pk: int, run_id: str, attempts: int, message_id: str, now) -> None:
    """The hot path, one statement per sent email: plain SQL built once, on the batch's
    cursor, since the ORM's update() costs about as much CPU as the SMTP exchange itself."""
    when = connection.ops.adapt_datetimefield_value(now)
    cursor.execute(_sent_sql(connection.vendor),
                   [DStatus.SENT, attempts, when, when, message_id[:255], pk, run_id])


def _record(cursor, row: dict, outcome, run_id: str, result: BatchResult) -> None:
    now = timezone.now()
    attempts = row["attempts"] + 1
    if outcome.status == SENT:
        result.sent += 1
        _record_sent(cursor, row["pk"], run_id, attempts, outcome.message_id, now)
        return
    common = {"attempts": attempts, "last_smtp_code": outcome.smtp_code,
              "last_error": outcome.error[:2000], "claim": "", "updated_at": now}
    if outcome.transient and attempts < settings.EMAIL_RETRY_MAX_ATTEMPTS:
        delay = retry_delay(attempt=attempts)
        result.retrying += 1
        changes = {**common, "status": DStatus.PENDING,
                   "next_attempt_at": now + timedelta(seconds=delay)}
    else:
        result.failed += 1
        changes = {**common, "status": DStatus.FAILED, "next_attempt_at": None}
    # Not filtered on status: if the email went out, "sent" is the truth even after a cancel.
    Delivery.objects.filter(pk=row["pk"], claim=run_id).update(**changes)


def notification_finalise(*, notification_id: int) -> dict:
    """Set the final status from the rows and return the seed's result shape."""
    counts = delivery_counts(notification_id)
    open_rows = counts[DStatus.PENDING] + counts[DStatus.SENDING]
    if not open_rows:
        final = (Status.SENT if not counts[DStatus.FAILED]
                 else Status.FAILED if not counts[DStatus.SENT] else Status.PARTIALLY_FAILED)
        Notification.objects.filter(pk=notification_id, status=Status.SENDING).update(
            status=final, finished_at=timezone.now())
    failed = list(Delivery.objects.filter(notification_id=notification_id,
                                          status=DStatus.FAILED)
                  .order_by("pk").values_list("email", flat=True)[:100])
    return {
        "notification_id": notification_id,
        "status": Notification.objects.values_list("status", flat=True).get(pk=notification_id),
        "sent_count": counts[DStatus.SENT], "failed_count": counts[DStatus.FAILED],
        "skipped_count": counts[DStatus.SKIPPED], "pending_count": open_rows,
        "total": counts["total"], "failed_emails": failed,
    }


def notification_cancel(*, notification_id: int) -> int:
    """Stop a scheduled or sending notification: nothing more goes out. Returns rows skipped."""
    from django_celery_beat.models import PeriodicTask

    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.status not in (Status.SCHEDULED, Status.SENDING):
            raise NotificationStateError(
                f"only a scheduled or sending notification can be cancelled "
                f"(this one is {notification.get_status_display().lower()})")
        if notification.schedule_id:
            PeriodicTask.objects.filter(pk=notification.schedule_id).update(enabled=False)
        notification.status = Status.CANCELLED
        notification.finished_at = timezone.now()
        notification.save(update_fields=["status", "finished_at", "updated_at"])
        return Delivery.objects.filter(notification_id=notification_id,
                                       status=DStatus.PENDING).update(
            status=DStatus.SKIPPED, claim="", last_error="cancelled", next_attempt_at=None)


def notification_retry_failed(*, notification_id: int) -> list[list[int]]:
    """Put only the failed rows with a usable address back to pending; their batches."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.status not in (Status.FAILED, Status.PARTIALLY_FAILED):
            raise NotificationStateError("only a failed or partially failed notification can "
                                         "retry its failed recipients")
        retried = Delivery.objects.filter(notification_id=notification_id,
                                          status=DStatus.FAILED).exclude(
            last_error__startswith="invalid address").update(
            status=DStatus.PENDING, attempts=0, next_attempt_at=None, claim="")
        if not retried:
            raise NotificationStateError("no failed recipient with a usable address to retry")
        notification.status = Status.SENDING
        notification.finished_at = None
        notification.save(update_fields=["status", "finished_at", "updated_at"])
    return _batches(notification_id, [DStatus.PENDING])


def notification_schedule(*, notification_id: int, when) -> Notification:
    """Send at `when` through a one-off clocked periodic task (beat), not a long ETA."""
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    if when <= timezone.now():
        raise NotificationStateError("the scheduled time must be in the future")
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.status not in (Status.DRAFT, Status.SCHEDULED):
            raise NotificationStateError("only a draft or scheduled notification can be "
                                         "(re)scheduled")
        clocked = ClockedSchedule.objects.create(clocked_time=when)
        if notification.schedule_id:
            PeriodicTask.objects.filter(pk=notification.schedule_id).delete()
        notification.schedule = PeriodicTask.objects.create(
            name=f"Notification #{notification.pk}: {notification.subject[:80]}",
            task="notifications.tasks.send_bulk_notifications", clocked=clocked,
            one_off=True, args=json.dumps([notification.pk]), queue="email",
            description="Created by the notification's Schedule button.",
        )
        notification.status = Status.SCHEDULED
        notification.scheduled_at = when
        notification.save(update_fields=["status", "scheduled_at", "schedule", "updated_at"])
    return notification
