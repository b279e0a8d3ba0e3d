"""Writes for bulk notifications: materialise deliveries, send batches, finish.

The Delivery rows are the truth. A batch claims its rows under a lease (notifications.claims),
so a batch that Redis delivers twice skips rows already sent or held by a live batch, and a
cancelled notification sends nothing more. Starting, retrying, cancelling and resuming a
notification live in notifications.lifecycle.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from notifications.audience import audience_recipients, audience_users
from notifications.claims import Lease, open_rows, rows_claim
from notifications.compose import BulkMessage
from notifications.mailer import SENT, Mailer
from notifications.models import Delivery, Notification, Suppression
from notifications.personalise import Recipient
from notifications.preferences import deliveries_skip_unwanted, suppression_add
from notifications.retries import retry_delay
from notifications.selectors import delivery_counts, skipped_reasons

Status = Notification.Status
DStatus = Delivery.Status
CREATE_CHUNK = 1000
FINAL = (DStatus.SENT, DStatus.FAILED, DStatus.SKIPPED)
CANCEL_CHECK_SECONDS = 0.2  # how soon a running batch notices a cancel


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


def deliveries_prepare(*, notification: Notification) -> int:
    """Materialise the deliveries, then skip the recipients who must not get it (they
    unsubscribed from its topic, or their address is suppressed). Returns rows skipped."""
    deliveries_materialise(notification=notification)
    return deliveries_skip_unwanted(notification_id=notification.pk, topic=notification.topic)


def _user_deliveries_insert(notification: Notification) -> int:
    """INSERT … SELECT from the users table: no rows through Python, one statement for any
    audience size (the ORM has no INSERT … SELECT; bulk_create would load every user)."""
    users = audience_users(notification).values("pk", "email")
    select_sql, params = users.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ("notification_id", "user_id", "email", "status", "attempts", "last_error",
               "message_id", "claim", "worker", "updated_at")
    sql = (
        f"INSERT INTO {quote(Delivery._meta.db_table)} ({', '.join(map(quote, columns))}) "
        f"SELECT %s, audience.pk, LOWER(audience.email), %s, 0, '', '', '', '', %s "
        f"FROM ({select_sql}) AS audience WHERE true "  # WHERE: SQLite's upsert grammar
        f"ON CONFLICT ({quote('notification_id')}, {quote('email')}) DO NOTHING"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [notification.pk, DStatus.PENDING, now, *params])
        return cursor.rowcount


def open_batches(notification_id: int) -> list[list[int]]:
    """Ids of the rows still to send that no live batch holds, in batches."""
    ids = list(Delivery.objects.filter(open_rows(timezone.now()), notification_id=notification_id)
               .order_by("pk").values_list("pk", flat=True))
    size = settings.NOTIFICATION_BATCH_SIZE
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def rate_limit_wait(limit: int, on_wait=None) -> None:
    """Block until this send fits the per-minute `limit` shared by every worker (via Redis);
    `on_wait` is called about every second while waiting (a batch renews its lease)."""
    while limit:
        minute = int(time.time() // 60)
        key = f"notifications:rate:{minute}"
        cache.add(key, 0, timeout=120)
        if cache.incr(key) <= limit:
            return
        while time.time() < (minute + 1) * 60:
            if on_wait is not None:
                on_wait()
            time.sleep(max(0.05, min(1.0, (minute + 1) * 60 - time.time())))


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


def batch_send(*, notification_id: int, delivery_ids: list[int],
               worker: str = "") -> BatchResult:
    """Send this batch's claimable rows over one SMTP connection, committing each outcome."""
    run_id = uuid.uuid4().hex
    rows = rows_claim(notification_id=notification_id, delivery_ids=delivery_ids,
                      run_id=run_id, worker=worker)
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
    try:
        composer = BulkMessage(notification)  # templates compiled once for the whole batch
    except ValidationError as exc:  # saved before fields were checked: fail, do not wedge
        result.failed += Delivery.objects.filter(
            notification_id=notification_id, claim=run_id, status=DStatus.SENDING).update(
            status=DStatus.FAILED, claim="", lease_until=None, updated_at=timezone.now(),
            last_error=f"could not render: {' '.join(exc.messages)}"[:2000])
        return
    rate_limit = settings.EMAIL_RATE_LIMIT_PER_MINUTE
    lease = Lease(notification_id, run_id)
    owned = None  # None: every claimed row is still ours
    next_cancel_check = time.monotonic() + CANCEL_CHECK_SECONDS
    with Mailer() as mailer, connection.cursor() as cursor:
        for index, row in enumerate(rows):
            if time.monotonic() >= next_cancel_check:
                if Notification.objects.filter(pk=notification_id,
                                               status=Status.CANCELLED).exists():
                    result.cancelled = True
                    break
                next_cancel_check = time.monotonic() + CANCEL_CHECK_SECONDS
            if lease.due() and lease.renew() < len(rows) - index:
                owned = lease.owned()  # the lease ended meanwhile; another batch took rows
            if owned is not None and row["pk"] not in owned:
                continue
            rate_limit_wait(rate_limit, on_wait=lambda: lease.due() and lease.renew())
            outgoing = composer.outgoing(_recipient(row), row["user_id"],
                                         raw=mailer.sends_raw)
            if outgoing.payload is None:
                outcome = mailer.send(outgoing.message)
            else:
                outcome = mailer.send_raw(from_email=composer.from_email,
                                          recipient=row["email"], payload=outgoing.payload,
                                          message_id=outgoing.message_id)
            _record(cursor, row, outcome, run_id, result)
    # Rows this run claimed but did not reach (cancelled): skipped, never sent.
    Delivery.objects.filter(notification_id=notification_id, claim=run_id,
                            status=DStatus.SENDING).update(
        status=DStatus.SKIPPED, claim="", lease_until=None,
        last_error="cancelled before sending")


def _recipient(row: dict) -> Recipient:
    return Recipient(email=row["email"], first_name=row["user__first_name"] or "",
                     last_name=row["user__last_name"] or "", username=row["user__username"] or "")


@lru_cache(maxsize=4)
def _sent_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    table = quote(Delivery._meta.db_table)
    columns = ("status", "attempts", "last_smtp_code", "last_error", "claim", "lease_until",
               "updated_at", "sent_at", "message_id", "next_attempt_at")
    values = ("%s", "%s", "NULL", "''", "''", "NULL", "%s", "%s", "%s", "NULL")
    assignments = ", ".join(f"{quote(c)} = {v}" for c, v in zip(columns, values, strict=True))
    return f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s AND {quote('claim')} = %s"


def _record_sent(cursor, pk: int, run_id: str, attempts: int, message_id: str, now) -> None:
    """The hot path, one statement per sent email: plain SQL built once and run on the
    batch's cursor, so no queryset is built and compiled per email."""
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
              "last_error": outcome.error[:2000], "claim": "", "lease_until": None,
              "updated_at": now}
    if outcome.transient and attempts < settings.EMAIL_RETRY_MAX_ATTEMPTS:
        delay = retry_delay(attempt=attempts)
        result.retrying += 1
        changes = {**common, "status": DStatus.PENDING,
                   "next_attempt_at": now + timedelta(seconds=delay)}
    else:
        result.failed += 1
        changes = {**common, "status": DStatus.FAILED, "next_attempt_at": None}
        if outcome.smtp_code is not None and 500 <= outcome.smtp_code < 600:
            # Refused for good: later sends skip the address instead of hitting it again.
            suppression_add(email=row["email"], reason=Suppression.Reason.BOUNCED,
                            detail=outcome.error)
    # Not filtered on status: if the email went out, "sent" is the truth even after a cancel.
    Delivery.objects.filter(pk=row["pk"], claim=run_id).update(**changes)


def notification_finalise(*, notification_id: int) -> dict:
    """Set the final status from the rows and return the send's summary
    (sent_count, failed_count, failed_emails, skipped_count, total).

    `finished_now` is true only for the call that made the change, so a resumed send whose
    old and new chords both finish tells the admins once.
    """
    counts = delivery_counts(notification_id)
    open_count = counts[DStatus.PENDING] + counts[DStatus.SENDING]
    finished_now = False
    if not open_count:
        final = (Status.SENT if not counts[DStatus.FAILED]
                 else Status.FAILED if not counts[DStatus.SENT] else Status.PARTIALLY_FAILED)
        finished_now = bool(Notification.objects.filter(
            pk=notification_id, status=Status.SENDING).update(
            status=final, finished_at=timezone.now(), updated_at=timezone.now()))
    failed = list(Delivery.objects.filter(notification_id=notification_id,
                                          status=DStatus.FAILED)
                  .order_by("pk").values_list("email", flat=True)[:100])
    status = Notification.objects.filter(pk=notification_id).values_list(
        "status", flat=True).first()
    return {
        "notification_id": notification_id, "status": status or "deleted",
        "finished_now": finished_now,
        "sent_count": counts[DStatus.SENT], "failed_count": counts[DStatus.FAILED],
        "skipped_count": counts[DStatus.SKIPPED], "pending_count": open_count,
        "total": counts["total"], "failed_emails": failed,
        "skipped_reasons": skipped_reasons(notification_id) if counts[DStatus.SKIPPED] else {},
    }
