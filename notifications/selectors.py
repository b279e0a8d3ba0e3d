"""Reads about notifications: counts, progress and stalls from the delivery rows."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.audience import audience_recipients, normalise_email
from notifications.claims import claimable
from notifications.compose import BulkMessage
from notifications.models import Delivery, Notification
from notifications.personalise import Recipient

DStatus = Delivery.Status


def delivery_counts(notification_id: int) -> dict:
    """Deliveries of a notification by status, plus the total (one GROUP BY)."""
    counts = dict(Delivery.objects.filter(notification_id=notification_id).order_by()
                  .values_list("status").annotate(n=Count("pk")))
    counts = {status: counts.get(status, 0) for status in Delivery.Status.values}
    counts["total"] = sum(counts.values())
    return counts


def _delivery_count(**filters) -> Coalesce:
    rows = (Delivery.objects.filter(notification_id=OuterRef("pk"), **filters).order_by()
            .values("notification_id").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def with_delivery_counts(notifications):
    """`notifications` annotated with sent_count, failed_count and total_count: one
    indexed count per row shown, in the same query as the rows."""
    return notifications.annotate(
        sent_count=_delivery_count(status=DStatus.SENT),
        failed_count=_delivery_count(status=DStatus.FAILED),
        total_count=_delivery_count(),
    )


def skipped_reasons(notification_id: int) -> dict[str, int]:
    """Skipped deliveries by reason ("unsubscribed from announcements", "cancelled", ...)."""
    return dict(Delivery.objects.filter(notification_id=notification_id, status=DStatus.SKIPPED)
                .order_by().values_list("last_error").annotate(n=Count("pk")))


FINAL_STATUSES = frozenset({Notification.Status.SENT, Notification.Status.PARTIALLY_FAILED,
                            Notification.Status.FAILED, Notification.Status.CANCELLED})


def send_phase(notification: Notification) -> str:
    """Where the current send is, in words: a started send waits for a worker to issue it
    ("Queued"), then makes its recipient list ("Preparing"), then sends."""
    Status = Notification.Status
    if notification.status != Status.SENDING:
        return notification.get_status_display()
    if notification.dispatched_at is None:
        return "Queued: waiting for a worker"
    if notification.prepared_at is None:
        return "Preparing the recipient list"
    return notification.get_status_display()


def notification_progress(notification: Notification) -> dict:
    """Counts by delivery status, percentages for the progress bar, and whether the page
    keeps polling: while a send is scheduled, queued or sending; not once it is final."""
    counts = delivery_counts(notification.pk)
    total = counts["total"] or 1
    in_flight = notification.status in (Notification.Status.SENDING,
                                         Notification.Status.SCHEDULED)
    return {
        "status": notification.status,
        "status_display": send_phase(notification),
        "counts": counts,
        "percent": {key: round(100.0 * counts[key] / total, 2)
                    for key in ("sent", "failed", "skipped", "pending", "sending")},
        "final": notification.status in FINAL_STATUSES,
        "done": not in_flight,
        "stalled": notification_stalled_since(notification) is not None,
    }


def sending_notification_ids() -> list[int]:
    return list(Notification.objects.filter(status=Notification.Status.SENDING)
                .order_by("pk").values_list("pk", flat=True))


def notification_stalled_since(notification: Notification, now=None) -> datetime | None:
    """When a sending notification stalled, or None while it is alive.

    Alive means some row is held under a lease that has not ended, or something happened
    (a start, a dispatch, a recorded row) less than the grace ago, or its only open rows
    wait for a retry that is not due yet. Otherwise it has rows to send (or a deliveries
    step or a final status still to make) and nothing will do it: it stalled when the last
    lease ended or the grace after the last activity ran out, whichever is later.
    """
    if notification.status != Notification.Status.SENDING:
        return None
    now = now or timezone.now()
    grace = timedelta(seconds=settings.NOTIFICATION_STALL_GRACE_SECONDS)
    held = Q(status=DStatus.SENDING)
    rows = Delivery.objects.filter(notification_id=notification.pk).aggregate(
        live=Count("pk", filter=held & Q(lease_until__gte=now)),
        waiting=Count("pk", filter=Q(status=DStatus.PENDING, next_attempt_at__gt=now)),
        due=Count("pk", filter=claimable(now)),
        last_update=Max("updated_at"),
        last_lease=Max("lease_until", filter=held),
        last_retry=Max("next_attempt_at", filter=Q(status=DStatus.PENDING,
                                                   next_attempt_at__lte=now)),
    )
    if rows["live"] or (rows["waiting"] and not rows["due"]):
        return None
    moments = (notification.started_at, notification.dispatched_at, rows["last_update"],
               rows["last_retry"])
    activity = max((moment for moment in moments if moment), default=now)
    since = activity + grace
    if rows["last_lease"] is not None:
        since = max(since, rows["last_lease"])
    return since if since <= now else None


def preview_recipient(notification: Notification, chosen: str = "", fallback_user=None):
    """(Recipient, user id) to preview as: the user or pasted address `chosen` names (id,
    username or email; LookupError when it names nobody), else the first recipient of the
    audience, else `fallback_user`."""
    users = get_user_model().objects.all()
    chosen = chosen.strip()
    user = None
    if chosen:
        lookup = Q(username=chosen) | Q(email__iexact=chosen)
        if chosen.isdigit():
            lookup |= Q(pk=int(chosen))
        user = users.filter(lookup).order_by("pk").first()
        if user is None and "@" in chosen:
            return Recipient(email=normalise_email(chosen)), None
        if user is None:
            raise LookupError(f"No user is called or numbered “{chosen}”; enter a username, "
                              "an email address or a user id.")
    if user is None and not chosen:
        first = next(iter(audience_recipients(notification)), None)
        if first is not None and first[0] is None:
            return Recipient(email=first[1]), None
        user = users.filter(pk=first[0]).first() if first is not None else fallback_user
    if user is None:
        user = fallback_user
    if user is None:
        return Recipient(email="recipient@example.com"), None
    return Recipient(email=user.email.lower(), first_name=user.first_name,
                     last_name=user.last_name, username=user.get_username()), user.pk


def notification_preview(notification: Notification, chosen: str = "",
                         fallback_user=None) -> dict:
    """Subject and both parts as one recipient receives them (footer included), except the
    unsubscribe link: a placeholder, since whoever previews must not get a working one."""
    try:
        recipient, user_id = preview_recipient(notification, chosen, fallback_user)
    except LookupError as exc:
        return {"recipient": None, "error": str(exc), "chosen": chosen}
    try:
        subject, text, html, _token = BulkMessage(notification).parts(recipient, user_id,
                                                                      preview=True)
    except ValidationError as exc:
        return {"recipient": recipient, "error": " ".join(exc.messages)}
    return {"recipient": recipient, "subject": subject, "text": text, "html": html,
            "chosen": chosen}


def send_outcome(*, status: str, sent: int, failed: int, skipped: int) -> str:
    """How a finished send ended, in one sentence ("Sent to 1,480 of 1,500 recipients;
    20 failed.") rather than a status code. Skipped recipients are left out of the total."""
    attempted = sent + failed
    people = "recipient" if attempted == 1 else "recipients"
    if status == Notification.Status.CANCELLED:
        sentence = f"Cancelled after sending to {sent:,} of {attempted:,} {people}."
    elif not attempted:
        sentence = "Nobody was sent it: there were no recipients to send to."
    elif not failed:
        sentence = f"Sent to all {attempted:,} {people}." if attempted > 1 else \
            "Sent to the one recipient."
    elif not sent:
        sentence = f"Not delivered: all {attempted:,} {people} failed." if attempted > 1 else \
            "Not delivered: the one recipient failed."
    else:
        sentence = f"Sent to {sent:,} of {attempted:,} {people}; {failed:,} failed."
    if skipped:
        sentence += f" {skipped:,} more {'was' if skipped == 1 else 'were'} left out."
    return sentence
