"""Small helpers for tests that wait on a real worker."""

import collections

from django.db import transaction

from accounts.models import User
from notifications.models import Notification, OutgoingEmail
from notifications.services import email_schedule
from tests.processes import wait_until


def user_with_welcome_email(username: str, email: str) -> OutgoingEmail:
    """Create a user and schedule its welcome email; it is enqueued when this commits."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, first_name="Grace",
                                        password="irrelevant-Pw-1")
        ticket = email_schedule(kind=OutgoingEmail.Kind.WELCOME, user=user)
    return OutgoingEmail.objects.get(pk=ticket.email_id)


def final(email: OutgoingEmail, timeout: float = 30) -> OutgoingEmail:
    def done():
        email.refresh_from_db()
        return email.status in (OutgoingEmail.Status.SENT, OutgoingEmail.Status.FAILED)

    wait_until(done, timeout, f"email {email.pk} to reach a final status")
    return email


def rows_by_status(notification: Notification) -> dict[str, int]:
    """How many of the notification's outgoing emails are in each status."""
    return dict(collections.Counter(OutgoingEmail.objects.filter(notification=notification)
                                    .values_list("status", flat=True)))


def make_users(count: int, prefix: str) -> None:
    """`count` users named and addressed `<prefix><n>@example.com`."""
    User.objects.bulk_create([
        User(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com", password="!")
        for n in range(count)
    ])


def finished(notification: Notification, timeout: float = 240) -> Notification:
    """Wait until the notification has a final status; returns it refreshed."""
    def done():
        notification.refresh_from_db()
        return notification.status not in ("draft", "scheduled", "sending")

    wait_until(done, timeout, f"notification {notification.pk} to finish")
    return notification


def received_by_recipient(smtp, subject: str) -> collections.Counter:
    """How many messages with `subject` each recipient got at the SMTP sink."""
    return collections.Counter(m["X-Envelope-To"] for m in smtp.messages
                               if m["Subject"] == subject)
