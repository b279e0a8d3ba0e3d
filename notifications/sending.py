"""The one way an email is sent: claim rows, make each message, send it over one SMTP
connection, and commit each outcome.

A claim is one guarded UPDATE that moves waiting, due rows to `sending` under a lease
(EMAIL_LEASE_SECONDS) owned by this run; a sender renews the lease every third of it. A
redelivered task finds its rows sent or held and sends nothing; a dead worker's rows come
back when the sweep finds their lease ended. After an attempt, one retry policy: sent; 4xx
or a dropped connection → waiting again with backoff (up to EMAIL_RETRY_MAX_ATTEMPTS);
5xx or an address that cannot be used → failed, that email only.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.compose import BulkMessage, CannotCompose, Recipient
from notifications.mailer import PERMANENT, SENT, Mailer, SendOutcome
from notifications.models import Notification, OutgoingEmail, Suppression
from notifications.recipients import suppression_add
from notifications.transactional import single_message

Status = OutgoingEmail.Status
CANCEL_CHECK_SECONDS = 0.2  # how soon a running batch notices a cancel
ROW_FIELDS = ("pk", "lane", "kind", "to_email", "attempts", "attempt_log", "user_id", "worker",
              "notification_id", "user__first_name", "user__last_name", "user__username")


def lease_length() -> timedelta:
    return timedelta(seconds=settings.EMAIL_LEASE_SECONDS)


def due(now) -> Q:
    """Rows a sender may claim: waiting, and their next attempt (if any) has come."""
    return Q(status=Status.PENDING) & (Q(next_attempt_at__isnull=True)
                                       | Q(next_attempt_at__lte=now))


def claim(*, run_id: str, worker: str = "", ids: list[int] | None = None,
          notification_id: int | None = None, limit: int | None = None) -> list[dict]:
    """Take the due rows among `ids`, or up to `limit` due rows of a sending notification,
    for `run_id`; returns the rows now held. SKIP LOCKED on PostgreSQL, so two senders
    never wait on each other; elsewhere the UPDATE is guarded by the same condition."""
    now = timezone.now()
    rows = OutgoingEmail.objects.filter(due(now))
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    if notification_id is not None:
        rows = rows.filter(notification_id=notification_id,
                           notification__status=Notification.Status.SENDING)
    with transaction.atomic():
        rows = rows.order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        chosen = list(rows.values_list("pk", flat=True)[:limit])
        if not chosen:
            return []
        OutgoingEmail.objects.filter(due(now), pk__in=chosen).update(
            status=Status.SENDING, claim=run_id, lease_until=now + lease_length(),
            worker=worker[:255], updated_at=now)
    return list(held(run_id).order_by("pk").values(*ROW_FIELDS))


def held(run_id: str):
    return OutgoingEmail.objects.filter(status=Status.SENDING, claim=run_id)


class Lease:
    """A sender's hold on its rows, renewed every third of the lease."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.every = settings.EMAIL_LEASE_SECONDS / 3
        self.next_renewal = time.monotonic() + self.every

    def renew_if_due(self) -> set[int] | None:
        """Renew when due; the ids still held when some were lost meanwhile, else None."""
        if time.monotonic() < self.next_renewal:
            return None
        self.next_renewal = time.monotonic() + self.every
        rows = held(self.run_id)
        rows.update(lease_until=timezone.now() + lease_length())
        return set(rows.values_list("pk", flat=True))


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    cancelled: bool = False
    retry_in: float | None = None  # when the earliest retry of this batch is due
    errors: dict = field(default_factory=dict)  # {address: reply}: failed for good

    def as_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "retrying": self.retrying,
                "cancelled": self.cancelled}


def send_batch(*, worker: str = "", ids: list[int] | None = None,
               notification_id: int | None = None, limit: int | None = None,
               after_claim=None) -> BatchResult:
    """Claim (see `claim`), call `after_claim` if rows were claimed, and send them; every
    outcome is committed as it happens."""
    run_id = uuid.uuid4().hex
    rows = claim(run_id=run_id, worker=worker, ids=ids, notification_id=notification_id,
                 limit=limit)
    result = BatchResult(claimed=len(rows))
    if rows:
        if after_claim is not None:
            after_claim()
        _send_rows(rows, run_id, result)
    return result


def _bulk_composer(notification_id, composers: dict):
    if notification_id not in composers:
        notification = Notification.objects.get(pk=notification_id)
        try:
            composers[notification_id] = BulkMessage(notification)
        except Exception as exc:  # noqa: BLE001 - recorded on each of its rows
            composers[notification_id] = CannotCompose(f"could not render: {exc}")
    return composers[notification_id]


def _send_rows(rows: list[dict], run_id: str, result: BatchResult) -> None:
    lease = Lease(run_id)
    owned = None  # None: every claimed row is still ours
    composers: dict = {}
    bulk_ids = {row["notification_id"] for row in rows if row["lane"] == OutgoingEmail.Lane.BULK}
    next_cancel_check = time.monotonic() + CANCEL_CHECK_SECONDS
    with Mailer() as mailer, connection.cursor() as cursor:
        for row in rows:
            if bulk_ids and time.monotonic() >= next_cancel_check:
                if Notification.objects.filter(pk__in=bulk_ids,
                                               status=Notification.Status.CANCELLED).exists():
                    result.cancelled = True
                    break
                next_cancel_check = time.monotonic() + CANCEL_CHECK_SECONDS
            renewed = lease.renew_if_due()
            if renewed is not None:
                owned = renewed
            if owned is not None and row["pk"] not in owned:
                continue  # the lease ended meanwhile and another sender took the row
            if row["lane"] == OutgoingEmail.Lane.BULK:
                rate_limit_wait(settings.EMAIL_RATE_LIMIT_PER_MINUTE, on_wait=lease.renew_if_due)
            record(cursor, row, _attempt(row, mailer, composers), run_id, result)
    # Rows claimed but not reached (cancelled): left out, never sent.
    held(run_id).update(status=Status.SKIPPED, claim="", lease_until=None,
                        last_error="cancelled before sending")


def _attempt(row: dict, mailer: Mailer, composers: dict) -> SendOutcome:
    """Make the message and send it. A message that cannot be made (a template or data
    fault) fails this email with the reason; a fault of the sending code itself raises."""
    try:
        outgoing = _compose(row, mailer, composers)
    except CannotCompose as exc:
        return SendOutcome(PERMANENT, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - fails this email only, with the reason
        return SendOutcome(PERMANENT, None, f"could not make the message: {exc!r}"[:500])
    if isinstance(outgoing, tuple):
        composer, made = outgoing
        return mailer.send_raw(from_email=composer.from_email, recipient=row["to_email"],
                               payload=made.payload, message_id=made.message_id)
    return mailer.send(outgoing)


def _compose(row: dict, mailer: Mailer, composers: dict):
    """(composer, bytes to send) for a bulk row over a raw-safe connection; else a Django
    message."""
    if row["lane"] == OutgoingEmail.Lane.BULK:
        composer = _bulk_composer(row["notification_id"], composers)
        if isinstance(composer, CannotCompose):
            raise composer
        made = composer.outgoing(_recipient(row), row["user_id"], raw=mailer.sends_raw)
        return (composer, made) if made.payload is not None else made.message
    email = OutgoingEmail.objects.select_related("user").get(pk=row["pk"])
    message = single_message(email)
    OutgoingEmail.objects.filter(pk=row["pk"]).update(subject=message.subject[:255])
    return message


def _recipient(row: dict) -> Recipient:
    return Recipient(email=row["to_email"], first_name=row["user__first_name"] or "",
                     last_name=row["user__last_name"] or "",
                     username=row["user__username"] or "")


def rate_limit_wait(limit: int, on_wait=None) -> None:
    """Block until this send fits the per-minute `limit` shared by every worker (via Redis);
    `on_wait` is called about every second while waiting (the sender renews its lease)."""
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


@lru_cache(maxsize=4)
def _sent_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    columns = ("status", "attempts", "attempt_log", "last_smtp_code", "last_error", "claim",
               "lease_until", "updated_at", "sent_at", "message_id", "next_attempt_at")
    values = ("%s", "%s", "%s", "NULL", "''", "''", "NULL", "%s", "%s", "%s", "NULL")
    assignments = ", ".join(f"{quote(c)} = {v}" for c, v in zip(columns, values, strict=True))
    return (f"UPDATE {quote(OutgoingEmail._meta.db_table)} SET {assignments} "
            f"WHERE {quote('id')} = %s AND {quote('claim')} = %s")


def _log(row: dict, outcome: SendOutcome, now) -> list:
    entry = {"at": now.isoformat(timespec="seconds"), "worker": row["worker"],
             "outcome": outcome.status,
             "code": outcome.smtp_code, "reply": outcome.error[:500] or "250 accepted"}
    return [*(row["attempt_log"] or []), entry][-20:]


def record(cursor, row: dict, outcome: SendOutcome, run_id: str, result: BatchResult) -> str:
    """Commit one attempt's outcome on the row this run holds; returns the new status."""
    now = timezone.now()
    attempts = row["attempts"] + 1
    log = _log(row, outcome, now)
    if outcome.status == SENT:
        # The hot path: one statement per sent email, plain SQL built once, on the batch's
        # cursor, so no queryset is built and compiled per email.
        when = connection.ops.adapt_datetimefield_value(now)
        cursor.execute(_sent_sql(connection.vendor),
                       [Status.SENT, attempts, json.dumps(log), when, when,
                        outcome.message_id[:255], row["pk"], run_id])
        result.sent += 1
        return Status.SENT
    changes = {"attempts": attempts, "attempt_log": log, "last_smtp_code": outcome.smtp_code,
               "last_error": outcome.error[:2000], "claim": "", "lease_until": None,
               "updated_at": now}
    if outcome.transient and attempts < settings.EMAIL_RETRY_MAX_ATTEMPTS:
        delay = retry_delay(attempt=attempts)
        result.retrying += 1
        result.retry_in = min(delay, result.retry_in or delay)
        status, changes["next_attempt_at"] = Status.PENDING, now + timedelta(seconds=delay)
    else:
        result.failed += 1
        result.errors[row["to_email"]] = outcome.error
        status, changes["next_attempt_at"] = Status.FAILED, None
        if (row["lane"] == OutgoingEmail.Lane.BULK and outcome.smtp_code is not None
                and 500 <= outcome.smtp_code < 600):
            # Refused for good: later sends skip the address instead of hitting it again.
            suppression_add(email=row["to_email"], reason=Suppression.Reason.BOUNCED,
                            detail=outcome.error)
    # Not filtered on status: if the email went out, "sent" is the truth even after a cancel.
    OutgoingEmail.objects.filter(pk=row["pk"], claim=run_id).update(status=status, **changes)
    return status


def retry_delay(*, attempt: int) -> float:
    """Exponential backoff with jitter: uniform(ceiling / 2, ceiling), where ceiling is
    min(EMAIL_RETRY_BACKOFF_MAX_SECONDS, EMAIL_RETRY_BACKOFF_SECONDS * 2**(attempt-1))."""
    ceiling = min(settings.EMAIL_RETRY_BACKOFF_MAX_SECONDS,
                  settings.EMAIL_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # at least half: retries never stampede
