"""Writes of the outgoing-email engine: record and queue an email, resend, start, retry,
cancel, schedule and finish a notification, drain it, and the sweep.

Every email is an OutgoingEmail row written in the transaction that asks for it and queued
after commit; `notifications.sending` sends rows it has claimed. A notification starts once
(one guarded UPDATE, its rows written in the same transaction) and is then drained: each
drain task claims a batch, queues the next drain while rows remain, and sends. It is
finished when no row is waiting or being sent — read from the rows. The sweep (every
minute) takes back rows whose lease ended and queues again what a lost message or a dead
worker left behind, in both lanes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from backoffice.enqueue import QueueUnavailable, enqueue
from notifications.models import Notification, OutgoingEmail
from notifications.recipients import recipients_write
from notifications.selectors import finished_notice
from notifications.sending import due, send_batch
from notifications.transactional import admin_recipients

logger = logging.getLogger(__name__)

Status = Notification.Status
EStatus = OutgoingEmail.Status
Lane = OutgoingEmail.Lane
SEND_TASK = "notifications.tasks.send_email"
DRAIN_TASK = "notifications.tasks.drain_notification"
NO_RECIPIENTS = "No recipients: nothing was sent."
# A freshly recorded email is left this long to its own after-commit enqueue.
SWEEP_MIN_AGE = timedelta(seconds=5)


class NotificationStateError(Exception):
    """The notification is not in a state that allows this; the message says why."""


@dataclass
class Ticket:
    """Returned to whoever asked for an email; `queued` is set once the enqueue ran."""

    email_id: int
    queued: bool | None = None


# --- Queueing -----------------------------------------------------------------------------


def _publish(task: str, args: list, countdown: float | None = None) -> str:
    """Publish `task`; "" when done, else why not (the broker is unreachable: the row stays
    for the sweep, as backoffice.enqueue's rule says of recorded work)."""
    try:
        enqueue(task, args=args, countdown=countdown)
    except QueueUnavailable as exc:
        logger.warning("could not queue %s%s; the sweep will: %s", task, args, exc)
        return str(exc)
    return ""


def email_enqueue(*, email_id: int, countdown: float | None = None) -> bool:
    """Queue the send of one row; False (row left for the sweep) when the broker is down."""
    problem = _publish(SEND_TASK, [email_id], countdown)
    if problem:
        OutgoingEmail.objects.filter(pk=email_id, status=EStatus.PENDING, attempts=0).update(
            last_error=f"queue unreachable, will be queued again: {problem}"[:2000])
        return False
    when = timezone.now() + timedelta(seconds=countdown or 0)
    OutgoingEmail.objects.filter(pk=email_id).update(queued_at=when)
    return True


def drain_enqueue(*, notification_id: int, countdown: float | None = None) -> bool:
    """Queue a drain of a sending notification (a batch, then the next while rows remain)."""
    if _publish(DRAIN_TASK, [notification_id], countdown):
        return False
    when = timezone.now() + timedelta(seconds=countdown or 0)
    Notification.objects.filter(pk=notification_id).update(drain_queued_at=when)
    return True


def email_schedule(*, kind: str, user=None, to_email: str | None = None,
                   context: dict | None = None) -> Ticket:
    """Record a transactional email in the current transaction; queue it after commit."""
    email = OutgoingEmail.objects.create(
        lane=Lane.TRANSACTIONAL, kind=kind, user=user, to_email=to_email or user.email,
        context=context or {})
    ticket = Ticket(email_id=email.pk)

    def enqueue():
        ticket.queued = email_enqueue(email_id=email.pk)

    transaction.on_commit(enqueue)
    return ticket


def admin_notices_schedule(*, subject: str, body: str, html: str = "",
                           enqueue: bool = True) -> list[int]:
    """One notice row per active staff member; queued after commit unless `enqueue` is
    false (the caller sends them itself)."""
    subject = " ".join(str(subject).split())[:150] or "Backoffice notification"
    context = {"subject": f"[{settings.SITE_NAME}] {subject}", "body": body, "html": html}
    ids = [OutgoingEmail.objects.create(lane=Lane.TRANSACTIONAL, kind=OutgoingEmail.Kind.
                                        ADMIN_NOTICE, to_email=address, context=context).pk
           for address in admin_recipients()]
    if enqueue:
        transaction.on_commit(lambda: [email_enqueue(email_id=pk) for pk in ids])
    return ids


def emails_send_now(*, ids: list[int], worker: str = "") -> dict:
    """Send these transactional rows in this process (a task that made them); what fails
    for now is queued again after its backoff."""
    result = send_batch(ids=ids, worker=worker)
    for email_id in OutgoingEmail.objects.filter(
            pk__in=ids, status=EStatus.PENDING).values_list("pk", flat=True):
        email_enqueue(email_id=email_id, countdown=result.retry_in)
    return {"sent": result.sent, "failed": result.errors, "retrying": result.retrying}


# --- Resend -------------------------------------------------------------------------------


def emails_resend(*, ids: list[int]) -> int:
    """Failed emails among `ids` wait to be sent again (a fresh set of attempts), once: a
    second press finds none failed. A notification they belong to goes back to sending.
    Returns how many will be sent."""
    now = timezone.now()
    with transaction.atomic():
        rows = OutgoingEmail.objects.filter(pk__in=ids, status=EStatus.FAILED).exclude(
            last_error__startswith="invalid address")
        chosen = list(rows.select_for_update().values_list("pk", "lane", "notification_id"))
        OutgoingEmail.objects.filter(pk__in=[pk for pk, _, _ in chosen],
                                     status=EStatus.FAILED).update(
            status=EStatus.PENDING, attempts=0, next_attempt_at=None, queued_at=None,
            updated_at=now)
        notifications = {n for _, lane, n in chosen if lane == Lane.BULK}
        Notification.objects.filter(pk__in=notifications, status__in=[
            Status.FAILED, Status.PARTIALLY_FAILED, Status.SENT]).update(
            status=Status.SENDING, finished_at=None, note="", updated_at=now)
        single = [pk for pk, lane, _ in chosen if lane == Lane.TRANSACTIONAL]
        transaction.on_commit(lambda: (
            [email_enqueue(email_id=pk) for pk in single],
            [drain_enqueue(notification_id=n) for n in notifications]))
    return len(chosen)


# --- Notifications ------------------------------------------------------------------------


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%H:%M:%S}" if moment else "?"


def state_problem(notification: Notification | None) -> str:
    """Why a button does not apply to the notification as it is now, in one sentence."""
    if notification is None:
        return "The notification no longer exists."
    if notification.status == Status.SENDING:
        return f"Already sending (started {_local(notification.started_at)})."
    if notification.status == Status.DRAFT:
        return "It is a draft: nothing has started."
    if notification.status == Status.SCHEDULED and notification.scheduled_at:
        when = timezone.localtime(notification.scheduled_at)
        return f"Already scheduled (for {when:%Y-%m-%d %H:%M %Z})."
    finished = _local(notification.finished_at)
    return f"Already {notification.get_status_display().lower()} (finished {finished})."


def _refuse(notification_id: int):
    raise NotificationStateError(state_problem(
        Notification.objects.filter(pk=notification_id).first()))


@dataclass
class Started:
    """A start: how many recipients wait, and whether the first batch was queued (None
    until the transaction commits; False: the broker is down and the sweep will)."""

    waiting: int
    queued: bool | None = None


def notification_start(*, notification_id: int) -> Started:
    """Draft or scheduled → sending, once, with its rows written in the same transaction;
    the first drain is queued after commit."""
    from django_celery_beat.models import PeriodicTask

    now = timezone.now()
    with transaction.atomic():
        if not Notification.objects.filter(
            pk=notification_id, status__in=[Status.DRAFT, Status.SCHEDULED],
        ).update(status=Status.SENDING, started_at=now, finished_at=None, note="",
                 drain_queued_at=None, updated_at=now):
            _refuse(notification_id)
        # Started by hand before its time: beat's one-off task must not fire it later.
        PeriodicTask.objects.filter(
            pk__in=Notification.objects.filter(pk=notification_id).values("schedule_id"),
        ).update(enabled=False)
        started = Started(recipients_write(
            notification=Notification.objects.get(pk=notification_id)))
        if not OutgoingEmail.objects.filter(notification_id=notification_id).exists():
            Notification.objects.filter(pk=notification_id).update(
                status=Status.FAILED, finished_at=now, note=NO_RECIPIENTS)
            return started

        def enqueue():
            started.queued = drain_enqueue(notification_id=notification_id)

        transaction.on_commit(enqueue)
    return started


def notification_retry_failed(*, notification_id: int) -> int:
    """The failed recipients of a failed or partially failed notification, sent again."""
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.status not in (Status.FAILED,
                                                            Status.PARTIALLY_FAILED):
        if notification is not None and notification.status in (
                Status.SENT, Status.CANCELLED, Status.DRAFT):
            raise NotificationStateError(
                "Only a failed or partially failed notification can retry.")
        _refuse(notification_id)
    ids = list(OutgoingEmail.objects.filter(notification_id=notification_id,
                                            status=EStatus.FAILED).values_list("pk", flat=True))
    resent = emails_resend(ids=ids)
    if not resent:
        raise NotificationStateError("No failed recipient with a usable address to retry.")
    return resent


def notification_cancel(*, notification_id: int) -> int:
    """Stop a scheduled or sending notification: nothing more goes out. Returns rows left
    out. Rows a live sender holds are left out by that sender when it notices."""
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
        return OutgoingEmail.objects.filter(notification_id=notification_id,
                                            status=EStatus.PENDING).update(
            status=EStatus.SKIPPED, last_error="cancelled", next_attempt_at=None)


def notification_schedule(*, notification_id: int, when) -> Notification:
    """Send at `when` through a one-off clocked periodic task (beat), not a long ETA."""
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    if when <= timezone.now():
        raise NotificationStateError("the scheduled time must be in the future")
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(
            pk=notification_id).first()
        if notification is None or notification.status not in (Status.DRAFT,
                                                                Status.SCHEDULED):
            raise NotificationStateError(state_problem(notification).rstrip("."))
        clocked = ClockedSchedule.objects.create(clocked_time=when)
        if notification.schedule_id:
            PeriodicTask.objects.filter(pk=notification.schedule_id).delete()
        notification.schedule = PeriodicTask.objects.create(
            name=f"Notification #{notification.pk}: {notification.subject[:80]}",
            task="notifications.tasks.send_bulk_notifications", clocked=clocked,
            one_off=True, args=json.dumps([notification.pk]), queue="bulk",
            description="Created by the notification's Schedule button.",
        )
        notification.status = Status.SCHEDULED
        notification.scheduled_at = when
        notification.save(update_fields=["status", "scheduled_at", "schedule", "updated_at"])
    return notification


def notification_finish(*, notification_id: int) -> bool:
    """Sending → its final status once no row is waiting or being sent; the staff are told
    (once: only the call that made the change). True for that call."""
    rows = OutgoingEmail.objects.filter(notification_id=notification_id)
    if rows.filter(status__in=[EStatus.PENDING, EStatus.SENDING]).exists():
        return False
    counts = dict(rows.order_by().values_list("status").annotate(n=Count("pk")))
    final = (Status.SENT if not counts.get(EStatus.FAILED)
             else Status.FAILED if not counts.get(EStatus.SENT) else Status.PARTIALLY_FAILED)
    now = timezone.now()
    with transaction.atomic():
        if not Notification.objects.filter(pk=notification_id, status=Status.SENDING).update(
                status=final, finished_at=now, updated_at=now):
            return False
        admin_notices_schedule(**finished_notice(notification_id))
    return True


def notification_drain(*, notification_id: int, worker: str = "") -> dict:
    """One drain: claim a batch and, while due rows remain, queue the next drain before
    sending it (so as many drains send at once as there are free worker processes); then
    queue a drain for the earliest retry, or finish when nothing is left."""
    successor = []

    def queue_next():
        if OutgoingEmail.objects.filter(due(timezone.now()),
                                        notification_id=notification_id).exists():
            successor.append(drain_enqueue(notification_id=notification_id))

    result = send_batch(notification_id=notification_id, worker=worker,
                        limit=settings.NOTIFICATION_BATCH_SIZE, after_claim=queue_next)
    _retry_drain_queue(notification_id)  # this batch's retries, or ones an earlier left
    finished = notification_finish(notification_id=notification_id)
    return {"notification_id": notification_id, **result.as_dict(), "finished": finished}


def _retry_drain_queue(notification_id: int) -> None:
    """A drain at the earliest retry of the notification's waiting rows, unless a drain is
    queued for later than now already."""
    earliest = OutgoingEmail.objects.filter(
        notification_id=notification_id, status=EStatus.PENDING).aggregate(
        at=Min("next_attempt_at"))["at"]
    now = timezone.now()
    if earliest is not None and Notification.objects.filter(
        Q(drain_queued_at__isnull=True) | Q(drain_queued_at__lt=now),
        pk=notification_id, status=Status.SENDING,
    ).update(drain_queued_at=earliest):
        drain_enqueue(notification_id=notification_id,
                      countdown=max(0.0, (earliest - now).total_seconds()))


# --- The sweep ----------------------------------------------------------------------------


def outgoing_sweep(*, limit: int = 500) -> dict:
    """Take back rows whose lease ended (their worker died) and queue them at once; queue
    again waiting rows whose task was lost; finish notifications with nothing left."""
    now = timezone.now()
    expired = list(OutgoingEmail.objects.filter(status=EStatus.SENDING, lease_until__lt=now)
                   .values_list("pk", "lane", "notification_id")[:5000])
    OutgoingEmail.objects.filter(pk__in=[pk for pk, _, _ in expired], status=EStatus.SENDING,
                                 lease_until__lt=now).update(
        status=EStatus.PENDING, claim="", lease_until=None, next_attempt_at=None,
        last_error="its worker stopped while sending (lease ended); sent again", updated_at=now)
    OutgoingEmail.objects.filter(notification__status=Status.CANCELLED,
                                 status=EStatus.PENDING).update(
        status=EStatus.SKIPPED, last_error="cancelled")
    taken_back = {pk for pk, lane, _ in expired if lane == Lane.TRANSACTIONAL}
    stale = now - timedelta(seconds=settings.EMAIL_REQUEUE_AFTER_SECONDS)
    lost = Q(pk__in=taken_back) | Q(created_at__lt=now - SWEEP_MIN_AGE) & (
        Q(queued_at__isnull=True) | Q(queued_at__lt=stale))
    queued = 0
    for email_id in OutgoingEmail.objects.filter(due(now), lost, lane=Lane.TRANSACTIONAL) \
            .order_by("pk").values_list("pk", flat=True)[:limit]:
        if not email_enqueue(email_id=email_id):
            break  # the broker went away again; the next sweep carries on
        queued += 1
    restarted = {n for _, lane, n in expired if lane == Lane.BULK}
    drained, finished = [], []
    for notification in Notification.objects.filter(status=Status.SENDING).order_by("pk"):
        if notification_finish(notification_id=notification.pk):
            finished.append(notification.pk)
            continue
        rows = OutgoingEmail.objects.filter(notification=notification)
        quiet = notification.drain_queued_at is None or notification.drain_queued_at < stale
        lost = quiet and rows.filter(due(now)).exists() and not rows.filter(
            status=EStatus.SENDING).exists()
        if (notification.pk in restarted or lost) and drain_enqueue(
                notification_id=notification.pk):
            drained.append(notification.pk)
    return {"taken_back": len(expired), "emails_queued": queued, "drains_queued": drained,
            "finished": finished}
