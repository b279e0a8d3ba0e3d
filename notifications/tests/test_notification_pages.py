"""What staff see around a notification: the delivery card that polls, the changelist
counts, the compose form's audience fields, and the admins' finished email."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notifications import services
from notifications.models import Notification, OutgoingEmail

pytestmark = pytest.mark.django_db
ADD = "/admin/notifications/notification/add/"
CHANGELIST = "/admin/notifications/notification/"


def with_deliveries(subject: str, sent: int, failed: int = 0, skipped: int = 0, **fields):
    notification = Notification.objects.create(subject=subject, text_body="t", **fields)
    rows = [("sent", sent), ("failed", failed), ("skipped", skipped)]
    OutgoingEmail.objects.bulk_create([
        OutgoingEmail(notification=notification, lane="bulk", kind="notification",
                      to_email=f"{status}{n}@example.com", status=status,
                      sent_at=timezone.now() if status == "sent" else None,
                      last_error="unsubscribed from announcements" if status == "skipped" else "")
        for status, count in rows for n in range(count)])
    return notification


def card(client, notification) -> str:
    url = reverse("admin:notifications_notification_progress", args=[notification.pk])
    return client.get(url, {"partial": "1"}).content.decode()


def test_the_card_keeps_polling_from_queued_to_sending_and_stops_when_final(admin_client):
    notification = Notification.objects.create(subject="S", text_body="t", status="sending",
                                               started_at=timezone.now())
    queued = card(admin_client, notification)
    assert 'data-polling="1"' in queued and "Queued: waiting for a worker" in queued

    OutgoingEmail.objects.create(notification=notification, lane="bulk", kind="notification",
                                 to_email="a@example.com", status="sent",
                                 sent_at=timezone.now())
    sending = card(admin_client, notification)
    assert 'data-polling="1"' in sending and ">Sending</strong>" in sending

    Notification.objects.filter(pk=notification.pk).update(status="sent")
    final = card(admin_client, notification)
    assert 'data-polling="0"' in final and ">Sent</strong>" in final
    assert '<span data-count="sent">1</span>' in final


def test_a_draft_does_not_poll_and_its_send_button_opens_the_confirmation(admin_client):
    notification = Notification.objects.create(subject="S", text_body="t")
    page = admin_client.get(reverse("admin:notifications_notification_change",
                                    args=[notification.pk])).content.decode()
    send = reverse("admin:notifications_notification_send", args=[notification.pk])
    assert 'data-polling="0"' in page and f'href="{send}"' in page


def test_the_changelist_shows_sent_failed_and_recipients_in_one_query(admin_client):
    with_deliveries("Mixed", sent=3, failed=1, skipped=2)

    response = admin_client.get(CHANGELIST)

    row = response.context["cl"].result_list[0]
    assert (row.sent_count, row.failed_count, row.total_count) == (3, 1, 6)
    html = response.content.decode()
    for header in ("Sent", "Failed", "Recipients"):
        assert f">{header}<" in html or f"{header}\n" in html, header
    with CaptureQueriesContext(connection) as one:
        admin_client.get(CHANGELIST)
    for n in range(4):
        with_deliveries(f"More {n}", sent=n, failed=1)
    with CaptureQueriesContext(connection) as five:
        admin_client.get(CHANGELIST)
    assert len(five) == len(one)  # no query per row


def test_the_compose_form_shows_each_audience_only_its_own_fields(admin_client):
    html = admin_client.get(ADD).content.decode()

    assert "x-data=" in html
    for field, audience in (("groups", "groups"), ("users", "users"),
                            ("addresses", "addresses"), ("skip_invalid", "addresses")):
        assert f'x-show="audience == &#x27;{audience}&#x27;"' in html or \
            f"x-show=\"audience == '{audience}'\"" in html, field


@pytest.mark.parametrize("audience, extra, what", [
    ("active_users", "groups", "Groups are chosen"),
    ("groups", "addresses", "Addresses are pasted"),
    ("addresses", "users", "Users are chosen"),
])
def test_fields_of_another_audience_are_refused_with_a_clear_message(admin_client, audience,
                                                                       extra, what):
    group = Group.objects.create(name="Beta")
    user = User.objects.create_user("picked", "picked@example.com", "x")
    values = {"groups": [group.pk], "users": [user.pk], "addresses": "x@example.com"}
    data = {"subject": "Hello", "audience": audience, "text_body": "Hi", "html_body": "",
            "topic": "announcements", "addresses": "", extra: values[extra]}
    if audience == "groups":
        data["groups"] = [group.pk]
    if audience == "addresses":
        data["addresses"] = "y@example.com"

    response = admin_client.post(ADD, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["audience"]
    assert any(error.startswith(what) and "does not use them" in error for error in errors)
    assert not Notification.objects.exists()


def test_a_sent_notification_shows_only_its_audiences_fields(admin_client):
    notification = Notification.objects.create(subject="S", text_body="t", status="sent",
                                               audience="addresses", addresses="a@example.com")
    page = admin_client.get(reverse("admin:notifications_notification_change",
                                    args=[notification.pk]))
    shown = [field for _name, options in page.context["adminform"].fieldsets
             for field in options["fields"]]
    assert "addresses" in shown and "groups" not in shown and "users" not in shown


def test_the_finished_email_says_the_outcome_in_words(mailoutbox, only_our_workers):
    User.objects.create_superuser("boss", "boss@example.com", "x")
    notification = with_deliveries("Price change", sent=1480, failed=20, skipped=3,
                                   status="sending")

    assert services.notification_finish(notification_id=notification.pk)
    assert not services.notification_finish(notification_id=notification.pk)  # told once

    [notice] = OutgoingEmail.objects.filter(kind="admin_notice")
    assert notice.to_email == "boss@example.com"
    services.emails_send_now(ids=[notice.pk])
    message = mailoutbox[0]
    html = message.alternatives[0].content
    assert message.subject == "[Backoffice] Notification finished: Price change"
    for body in (message.body, html):
        assert "Sent to 1,480 of 1,500 recipients; 20 failed. 3 more were left out." in body
        assert "partially_failed" not in body
        assert "unsubscribed from announcements: 3" in body.replace("</li>", "")
        assert f"/admin/notifications/notification/{notification.pk}/change/" in body
