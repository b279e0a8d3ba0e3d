"""Claims on delivery rows: an owner (the batch's run id) and a lease the batch renews.

A row can be claimed when it is pending and due, or when it is held under a lease that has
ended (its batch died). So a redelivered or re-issued batch skips rows already sent and rows
a live batch holds, and rows of a dead batch come free when its lease ends.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.models import Delivery, Notification

DStatus = Delivery.Status


def lease_length() -> timedelta:
    return timedelta(seconds=settings.NOTIFICATION_CLAIM_LEASE_SECONDS)


def claimable(now) -> Q:
    """Rows nobody holds: pending and due, or held under an ended lease."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    expired = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return (Q(status=DStatus.PENDING) & due) | (Q(status=DStatus.SENDING) & expired)


def open_rows(now) -> Q:
    """Rows still to send that no live batch holds (waiting retries included)."""
    expired = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Q(status=DStatus.PENDING) | (Q(status=DStatus.SENDING) & expired)


def rows_claim(*, notification_id: int, delivery_ids: list[int], run_id: str,
               worker: str = "") -> list[dict]:
    """Take the claimable rows among `delivery_ids` for `run_id`; the rows now held.

    SKIP LOCKED on PostgreSQL; elsewhere one guarded UPDATE (SQLite writes one at a time).
    """
    now = timezone.now()
    due = Q(pk__in=delivery_ids, notification_id=notification_id,
            notification__status=Notification.Status.SENDING) & claimable(now)
    with transaction.atomic():
        rows = Delivery.objects.filter(due)
        if connection.features.has_select_for_update_skip_locked:
            ids = list(rows.select_for_update(skip_locked=True, of=("self",))
                       .values_list("pk", flat=True))
            rows = Delivery.objects.filter(pk__in=ids)
        rows.update(status=DStatus.SENDING, claim=run_id, lease_until=now + lease_length(),
                    worker=worker[:255], updated_at=now)
    return list(held(notification_id, run_id).order_by("pk").values(
        "pk", "email", "attempts", "user_id", "user__first_name", "user__last_name",
        "user__username"))


def held(notification_id: int, run_id: str):
    """The rows `run_id` holds (through the notification/status index, not a table scan)."""
    return Delivery.objects.filter(notification_id=notification_id, status=DStatus.SENDING,
                                   claim=run_id)


class Lease:
    """A running batch's hold on its rows, renewed every third of the lease."""

    def __init__(self, notification_id: int, run_id: str):
        self.notification_id, self.run_id = notification_id, run_id
        self.every = settings.NOTIFICATION_CLAIM_LEASE_SECONDS / 3
        self.next_renewal = time.monotonic() + self.every

    def due(self) -> bool:
        return time.monotonic() >= self.next_renewal

    def renew(self) -> int:
        """Extend the lease of every row still held; returns how many that is."""
        self.next_renewal = time.monotonic() + self.every
        return held(self.notification_id, self.run_id).update(
            lease_until=timezone.now() + lease_length())

    def owned(self) -> set[int]:
        return set(held(self.notification_id, self.run_id).values_list("pk", flat=True))
