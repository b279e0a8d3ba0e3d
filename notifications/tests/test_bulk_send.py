"""Bulk notifications through Redis, real workers and an aiosmtpd server."""

import pytest
from celery.result import AsyncResult

from accounts.models import User
from notifications.models import Notification, OutgoingEmail
from notifications.tasks import send_bulk_notifications
from notifications.tests.helpers import finished, make_users, rows_by_status
from tests.processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def make_notification(**fields):
    fields.setdefault("subject", "Release notes")
    fields.setdefault("html_body", "<p>Hello <b>everyone</b></p>")
    return Notification.objects.create(**fields)



def test_sends_to_every_active_user_once(celery_worker, smtp, django_user_model):
    make_users(250, "member")
    User.objects.create_superuser("boss", "boss@example.com", "x")
    User.objects.filter(username="member7").update(is_active=False)
    notification = make_notification()

    started = send_bulk_notifications.delay(notification.pk).get(timeout=120)

    assert started["recipients"] == 250  # 249 + boss
    assert finished(notification).status == "sent" and notification.finished_at
    assert rows_by_status(notification) == {"sent": 250}
    summary_subject = "[Backoffice] Notification finished: Release notes"
    # Only this send's messages count: an earlier test's notice may still be arriving.
    wait_until(lambda: sum(m["Subject"] in ("Release notes", summary_subject)
                           for m in smtp.messages) >= 251, 60, "250 messages and the summary")
    received = [m for m in smtp.messages if m["Subject"] in ("Release notes", summary_subject)]
    recipients = [m["X-Envelope-To"] for m in received]
    assert "member7@example.com" not in recipients
    member_mails = [m for m in received if m["Subject"] == "Release notes"]
    assert len(member_mails) == 250 and len(set(m["To"] for m in member_mails)) == 250
    first = member_mails[0]
    parts = {part.get_content_type(): part.get_payload(decode=True).decode()
             for part in first.walk() if not part.is_multipart()}
    assert "<b>everyone</b>" in parts["text/html"] and "Hello everyone" in parts["text/plain"]
    [summary_mail] = [m for m in received if m["Subject"] == summary_subject]
    assert summary_mail["X-Envelope-To"] == "boss@example.com"
    summary_parts = {part.get_content_type(): part.get_payload(decode=True).decode()
                     for part in summary_mail.walk() if not part.is_multipart()}
    assert "Sent to all 250 recipients." in summary_parts["text/plain"]
    assert "Sent to all 250 recipients." in summary_parts["text/html"]
    assert AsyncResult(send_bulk_notifications.delay(notification.pk).id).get(timeout=60)[
        "status"] == "not sendable"  # a second send of a finished notification does nothing


def test_pasted_addresses_dedupe_and_invalid_lines_fail_with_reason(celery_worker, smtp):
    notification = make_notification(
        audience="addresses",
        addresses="a@example.com\nA@Example.com, b@example.com;not-an-address\n\n  c@example.com ",
    )

    send_bulk_notifications.delay(notification.pk).get(timeout=60)

    assert finished(notification).status == "partially_failed"
    assert rows_by_status(notification) == {"sent": 3, "failed": 1}
    bad = OutgoingEmail.objects.get(notification=notification, status="failed")
    assert bad.to_email == "not-an-address"
    assert bad.last_error.startswith("invalid address")
    assert Notification.objects.get(pk=notification.pk).status == "partially_failed"
