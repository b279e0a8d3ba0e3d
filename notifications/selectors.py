"""Reads about email: a notification's counts and progress from its rows, previews, and the
emails that failed or wait to retry."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from notifications.compose import BulkMessage, Recipient
from notifications.models import Notification, OutgoingEmail
from notifications.recipients import address_key, audience_recipients

DStatus = OutgoingEmail.Status


def delivery_counts(notification_id: int) -> dict:
    """A notification's emails by status, plus the total (one GROUP BY)."""
    counts = dict(OutgoingEmail.objects.filter(notification_id=notification_id).order_by()
                  .values_list("status").annotate(n=Count("pk")))
    counts = {status: counts.get(status, 0) for status in DStatus.values}
    counts["total"] = sum(counts.values())
    return counts


def _delivery_count(**filters) -> Coalesce:
    rows = (OutgoingEmail.objects.filter(notification_id=OuterRef("pk"), **filters).order_by()
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
    """Left-out recipients by reason ("unsubscribed from announcements", "cancelled", ...)."""
    rows = OutgoingEmail.objects.filter(notification_id=notification_id, status=DStatus.SKIPPED)
    return dict(rows.order_by().values_list("last_error").annotate(n=Count("pk")))


FINAL_STATUSES = frozenset({Notification.Status.SENT, Notification.Status.PARTIALLY_FAILED,
                            Notification.Status.FAILED, Notification.Status.CANCELLED})


def send_phase(notification: Notification) -> str:
    """Where the current send is, in words: a started send waits for a worker to take its
    first batch ("Queued"), then sends."""
    if notification.status == Notification.Status.SENDING and not OutgoingEmail.objects.filter(
            notification=notification).exclude(status=DStatus.PENDING).exists():
        return "Queued: waiting for a worker"
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
    }


def email_problems(*, days: int = 1) -> dict:
    """Emails that failed for good in the last `days` days, and those waiting to retry."""
    since = timezone.now() - timedelta(days=days)
    return OutgoingEmail.objects.aggregate(
        failed=Count("pk", filter=Q(status=DStatus.FAILED, updated_at__gte=since)),
        retrying=Count("pk", filter=Q(status=DStatus.PENDING, attempts__gt=0)),
    )


def email_problems_badge(request) -> str | None:
    """The sidebar badge of Outgoing email: emails failed today plus those waiting to retry."""
    if not request.user.has_perm("notifications.view_outgoingemail"):
        return None
    problems = email_problems()
    total = problems["failed"] + problems["retrying"]
    return (f"{total:,}" if total < 100 else "99+") if total else None


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
            return Recipient(email=address_key(chosen)), None
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


def finished_notice(notification_id: int) -> dict:
    """The notice telling staff how a bulk send ended: {"subject", "body", "html"}."""
    notification = Notification.objects.get(pk=notification_id)
    counts = delivery_counts(notification_id)
    context = {
        "notification": notification,
        "counts": counts,
        "outcome": send_outcome(status=notification.status, sent=counts["sent"],
                                failed=counts["failed"], skipped=counts["skipped"]),
        "skipped_reasons": sorted(skipped_reasons(notification_id).items()),
        "url": settings.SITE_URL.rstrip("/") + reverse(
            "admin:notifications_notification_change", args=[notification_id]),
        "site_name": settings.SITE_NAME,
    }
    return {"subject": f"Notification finished: {notification.subject}"[:150],
            "body": render_to_string("notifications/email/notification_finished.txt", context),
            "html": render_to_string("notifications/email/notification_finished.html", context)}
