"""Emails to staff: admin summaries and test copies of a notification."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from notifications.compose import BulkMessage
from notifications.mailer import Mailer
from notifications.models import Notification
from notifications.personalise import Recipient
from notifications.selectors import delivery_counts, send_outcome, skipped_reasons

MAX_PREVIOUS_CHARS = 20_000


def _previous_text(previous) -> str:
    if previous is None:
        return ""
    try:
        text = json.dumps(previous, indent=2, default=str)  # the task's own order
    except (TypeError, ValueError):
        text = repr(previous)
    return "\n\nResult of the previous step:\n" + text[:MAX_PREVIOUS_CHARS]


def admin_recipients() -> list[str]:
    users = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True),
                                            is_active=True).exclude(email="")
    return sorted({address.lower() for address in users.values_list("email", flat=True)})


def _to_admins(subject: str, body: str, html: str = "") -> dict:
    """One message to each admin separately; who got it and who did not (with the error)."""
    sent, failed = [], {}
    with Mailer() as mailer:
        for address in admin_recipients():
            message = EmailMultiAlternatives(
                subject=f"[{settings.SITE_NAME}] {subject}", body=body,
                from_email=settings.DEFAULT_FROM_EMAIL, to=[address])
            if html:
                message.attach_alternative(html, "text/html")
            outcome = mailer.send(message)
            if outcome.ok:
                sent.append(address)
            else:
                failed[address] = outcome.error
    return {"subject": subject, "sent": len(sent), "recipients": sent, "failed": failed}


def admins_notify(*, subject: str, message: str = "", previous=None) -> dict:
    """Send `subject`/`message` (plus the previous step's result) to each admin separately."""
    subject = " ".join(str(subject).split())[:200] or "Backoffice notification"
    return _to_admins(subject, (str(message) or subject) + _previous_text(previous))


def notification_finished_notify(*, notification_id: int) -> dict:
    """Tell the admins how a bulk send ended, in words, with a link to the notification."""
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
    subject = f"Notification finished: {notification.subject}"[:150]
    return _to_admins(subject,
                      render_to_string("notifications/email/notification_finished.txt",
                                       context),
                      render_to_string("notifications/email/notification_finished.html",
                                       context))


def notification_test_send(*, notification_id: int, user_id: int) -> dict:
    """One copy to the staff user's own address, personalised for them and with the bulk
    headers, as a recipient gets it; no Delivery row, the notification unchanged."""
    notification = Notification.objects.get(pk=notification_id)
    user = get_user_model().objects.get(pk=user_id)
    if not user.email:
        return {"sent": False, "error": "your account has no email address"}
    recipient = Recipient(email=user.email.lower(), first_name=user.first_name,
                          last_name=user.last_name, username=user.get_username())
    message = BulkMessage(notification).outgoing(recipient, user.pk, raw=False).message
    message.subject = f"[TEST] {message.subject}"
    with Mailer() as mailer:
        outcome = mailer.send(message)
    return {"sent": outcome.ok, "to": user.email, "error": outcome.error}
