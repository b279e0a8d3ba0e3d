"""Writes that move a notification between states: start, retry, schedule, cancel, resume.

Each start is one guarded UPDATE that only one caller can win (a double click, beat, a
redelivered task): the winner gets a new send id, everyone else a NotificationStateError
that says why. Issuing batches for a send is a second guarded step (`notification_dispatch`),
so a redelivered start task issues nothing twice.
"""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.bulk import deliveries_prepare, open_batches
from notifications.claims import open_rows
from notifications.models import Delivery, Notification
from notifications.selectors import notification_stalled_since, sending_notification_ids

Status = Notification.Status
DStatus = Delivery.Status
NO_RECIPIENTS = "No recipients: nothing was sent."


class NotificationStateError(Exception):
    """The notification is not in a state that allows this; the message says why."""


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


def notification_start(*, notification_id: int) -> str:
    """Draft or scheduled → sending with a new send id, once; returns the send id."""
    from django_celery_beat.models import PeriodicTask

    send_id = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        started = Notification.objects.filter(
            pk=notification_id, status__in=[Status.DRAFT, Status.SCHEDULED],
        ).update(status=Status.SENDING, send_id=send_id, started_at=now, finished_at=None,
                 prepared_at=None, dispatched_at=None, note="", updated_at=now)
        if not started:
            _refuse(notification_id)
        # Started by hand before its time: beat's one-off task must not fire it later.
        PeriodicTask.objects.filter(
            pk__in=Notification.objects.filter(pk=notification_id).values("schedule_id"),
        ).update(enabled=False)
    return send_id


def notification_retry_failed(*, notification_id: int) -> str:
    """Failed or partially failed → sending with a new send id, once; the failed rows with a
    usable address go back to pending in the same transaction. Returns the send id."""
    send_id = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        taken = Notification.objects.filter(
            pk=notification_id, status__in=[Status.FAILED, Status.PARTIALLY_FAILED],
        ).update(status=Status.SENDING, send_id=send_id, finished_at=None,
                 dispatched_at=None, note="", updated_at=now)
        if not taken:
            notification = Notification.objects.filter(pk=notification_id).first()
            if notification and notification.status in (Status.SENT, Status.CANCELLED,
                                                         Status.DRAFT):
                raise NotificationStateError(
                    "Only a failed or partially failed notification can retry.")
            _refuse(notification_id)
        retried = Delivery.objects.filter(
            notification_id=notification_id, status=DStatus.FAILED,
        ).exclude(last_error__startswith="invalid address").update(
            status=DStatus.PENDING, attempts=0, next_attempt_at=None, claim="",
            lease_until=None, updated_at=now)
        if not retried:
            raise NotificationStateError("No failed recipient with a usable address to retry.")
    return send_id


def notification_dispatch(*, notification_id: int, send_id: str) -> list[list[int]] | None:
    """Issue the batches of send `send_id` once: materialise the deliveries if this send has
    none yet, and return the batches of rows to send. None when the send is not this
    caller's to issue (already issued, cancelled, superseded, or the notification is gone)."""
    now = timezone.now()
    with transaction.atomic():
        taken = Notification.objects.filter(
            pk=notification_id, status=Status.SENDING, send_id=send_id,
            dispatched_at__isnull=True,
        ).update(dispatched_at=now, updated_at=now)
        if not taken:
            return None
        _prepare(notification_id, send_id)
    return open_batches(notification_id)


def _prepare(notification_id: int, send_id: str) -> None:
    """Materialise this send's deliveries unless that happened already; a send with no
    recipients ends here, failed with the reason."""
    now = timezone.now()
    with transaction.atomic():
        if not Notification.objects.filter(pk=notification_id, send_id=send_id,
                                           prepared_at__isnull=True).update(prepared_at=now):
            return
        notification = Notification.objects.get(pk=notification_id)
        deliveries_prepare(notification=notification)
        if not Delivery.objects.filter(notification_id=notification_id).exists():
            Notification.objects.filter(pk=notification_id, status=Status.SENDING).update(
                status=Status.FAILED, finished_at=now, note=NO_RECIPIENTS, updated_at=now)


def notification_resume(*, notification_id: int) -> None:
    """Take a stalled send for resuming (the sweep, or the admin's Resume), once.

    The guarded UPDATE moves `dispatched_at`, which makes the notification look alive for
    a grace period, so a second caller finds nothing to resume. The caller then issues
    `notification_resume_batches`.
    """
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.status != Status.SENDING:
        raise NotificationStateError(
            "Only a sending notification can be resumed." if notification else
            state_problem(None))
    if notification_stalled_since(notification) is None:
        raise NotificationStateError(
            "Not stalled: its batches are running, or were issued less than "
            f"{settings.NOTIFICATION_STALL_GRACE_SECONDS} s ago.")
    same = Q(dispatched_at=notification.dispatched_at) if notification.dispatched_at \
        else Q(dispatched_at__isnull=True)
    now = timezone.now()
    if not Notification.objects.filter(
        same, pk=notification_id, status=Status.SENDING, send_id=notification.send_id,
    ).update(dispatched_at=now, updated_at=now):
        raise NotificationStateError("Already resumed by someone else.")


def notification_resume_batches(*, notification_id: int) -> list[list[int]]:
    """The batches a resumed send issues: its open rows (deliveries made first if its start
    never got that far). Issuing them twice sends nobody twice: batches claim their rows."""
    send_id = Notification.objects.filter(
        pk=notification_id, status=Status.SENDING).values_list("send_id", flat=True).first()
    if send_id is None:
        return []
    _prepare(notification_id, send_id)
    return open_batches(notification_id)


def notifications_resume_stalled() -> list[int]:
    """The sweep's first step: every stalled sending notification taken for resuming."""
    resumed = []
    for notification_id in sending_notification_ids():
        try:
            notification_resume(notification_id=notification_id)
        except NotificationStateError:
            continue  # not stalled, or someone else resumed it first
        resumed.append(notification_id)
    return resumed


def cancelled_leftovers_skip() -> int:
    """Rows a dead batch held when their notification was cancelled: skipped once the lease
    ended (a live batch skips its own rows when it notices the cancel)."""
    return Delivery.objects.filter(
        notification__status=Status.CANCELLED, status=DStatus.SENDING,
        lease_until__lt=timezone.now(),
    ).update(status=DStatus.SKIPPED, claim="", lease_until=None, last_error="cancelled")


def notification_cancel(*, notification_id: int) -> int:
    """Stop a scheduled or sending notification: nothing more goes out. Returns rows skipped.

    Rows a live batch holds are skipped by that batch when it notices the cancel.
    """
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
        return Delivery.objects.filter(open_rows(timezone.now()),
                                       notification_id=notification_id).update(
            status=DStatus.SKIPPED, claim="", lease_until=None, last_error="cancelled",
            next_attempt_at=None)


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

