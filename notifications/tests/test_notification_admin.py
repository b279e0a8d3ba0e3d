"""Composing and steering notifications in the admin: bad input, POST-only buttons, roles."""

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import User
from notifications.models import Notification, OutgoingEmail

pytestmark = pytest.mark.django_db
ADD = "/admin/notifications/notification/add/"


def compose(client, **overrides):
    data = {"subject": "Hello", "audience": "active_users", "html_body": "<p>Hi</p>",
            "text_body": "", "addresses": "", **overrides}
    return client.post(ADD, data)


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_user("op", "op@example.com", "x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="notifications",
        codename__in=["add_notification", "change_notification", "view_notification",
                      "send_notification", "view_delivery"]))
    return user


@pytest.fixture
def auditor(django_user_model):
    user = django_user_model.objects.create_user("aud", "aud@example.com", "x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="notifications", codename__startswith="view_"))
    return user


def test_compose_sanitises_html_and_derives_text(admin_client):
    response = compose(admin_client, html_body=(
        '<p onclick="steal()">Dear <b>all</b><script>alert(1)</script></p>'
        '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">link</a>'))

    assert response.status_code == 302
    notification = Notification.objects.get()
    assert "<script" not in notification.html_body and "onerror" not in notification.html_body
    assert "onclick" not in notification.html_body and "javascript:" not in notification.html_body
    assert "<b>all</b>" in notification.html_body
    assert notification.text_body == "Dear all\nlink"
    assert notification.status == "draft" and notification.created_by.username == "admin"
    assert not OutgoingEmail.objects.exists()  # composing sends nothing


@pytest.mark.parametrize("fields, field, message", [
    ({"subject": "Hello\nBcc: victim@example.com"}, "subject", "single line"),
    ({"audience": "groups"}, "groups", "at least one group"),
    ({"audience": "users"}, "users", "at least one user"),
    ({"audience": "addresses", "addresses": "  \n "}, "addresses", "at least one valid"),
    ({"html_body": "", "text_body": ""}, None, "HTML body or a text body"),
])
def test_bad_input_gives_clear_errors_and_saves_nothing(admin_client, fields, field, message):
    response = compose(admin_client, **fields)

    assert response.status_code == 200
    form = response.context["adminform"].form
    errors = form.errors.get(field or "__all__", [])
    assert any(message in error for error in errors), form.errors
    assert not Notification.objects.exists()


def test_fifty_thousand_pasted_addresses_with_junk(admin_client):
    good = [f"person{n}@example.com" for n in range(50_000)]
    junk = ["not an address", "@nobody", "x@", "a@b@c.com"]
    pasted = "\n".join(good[:20_000] + junk + good[20_000:] + good[:100])

    refused = compose(admin_client, audience="addresses", addresses=pasted)

    errors = refused.context["adminform"].form.errors["addresses"][0]
    assert "4 line(s) are not valid addresses" in errors and "'@nobody'" in errors
    assert not Notification.objects.exists()

    accepted = compose(admin_client, audience="addresses", addresses=pasted, skip_invalid="on")

    assert accepted.status_code == 302
    notification = Notification.objects.get()
    page = admin_client.get(reverse("admin:notifications_notification_change",
                                    args=[notification.pk]))
    assert page.context["recipients"] == {"recipients": 50_000, "suppressed": 0,
                                          "unsubscribed": 0, "invalid": 4, "duplicates": 100,
                                          "excluded": 4}
    assert not OutgoingEmail.objects.exists()  # nothing is sent until Send now


def test_buttons_are_post_only_and_a_get_sends_nothing(admin_client):
    notification = Notification.objects.create(subject="S", text_body="t")
    for name in ("schedule", "cancel", "retry-failed", "send-test"):
        url = reverse(f"admin:notifications_notification_{name}", args=[notification.pk])
        assert admin_client.get(url).status_code == 405, name
    send = reverse("admin:notifications_notification_send", args=[notification.pk])
    assert admin_client.get(send).status_code == 200  # the confirmation page
    notification.refresh_from_db()
    assert notification.status == "draft" and not OutgoingEmail.objects.exists()


def test_only_users_with_the_send_permission_see_and_use_the_buttons(client, operator, auditor):
    notification = Notification.objects.create(subject="S", text_body="t")
    change = reverse("admin:notifications_notification_change", args=[notification.pk])
    send = reverse("admin:notifications_notification_send", args=[notification.pk])

    client.force_login(auditor)
    page = client.get(change)
    assert page.status_code == 200 and 'id="send-now"' not in page.content.decode()
    assert client.post(send).status_code == 403
    assert client.get(reverse("admin:notifications_notification_progress",
                              args=[notification.pk])).status_code == 200

    client.force_login(operator)
    assert 'id="send-now"' in client.get(change).content.decode()


def test_schedule_creates_a_one_off_clocked_task_and_cancel_disables_it(admin_client):
    notification = Notification.objects.create(subject="Later", text_body="t")
    when = timezone.localtime() + dt.timedelta(days=1)
    url = reverse("admin:notifications_notification_schedule", args=[notification.pk])

    admin_client.post(url, {"when_0": when.strftime("%Y-%m-%d"),
                            "when_1": when.strftime("%H:%M:%S")})

    notification.refresh_from_db()
    task = PeriodicTask.objects.get(pk=notification.schedule_id)
    assert notification.status == "scheduled"
    assert task.one_off and task.clocked is not None and task.queue == "bulk"
    assert task.task == "notifications.tasks.send_bulk_notifications"
    assert json.loads(task.args) == [notification.pk]
    assert abs(task.clocked.clocked_time - notification.scheduled_at) < dt.timedelta(seconds=1)

    admin_client.post(reverse("admin:notifications_notification_cancel", args=[notification.pk]))

    notification.refresh_from_db()
    task.refresh_from_db()
    assert notification.status == "cancelled" and not task.enabled


def test_schedule_in_the_past_is_refused(admin_client):
    notification = Notification.objects.create(subject="Past", text_body="t")
    url = reverse("admin:notifications_notification_schedule", args=[notification.pk])

    response = admin_client.post(url, {"when_0": "2020-01-01", "when_1": "10:00:00"},
                                 follow=True)

    assert "Choose a time in the future" in response.content.decode()
    notification.refresh_from_db()
    assert notification.status == "draft"
    assert not PeriodicTask.objects.filter(task__contains="send_bulk").exists()


def test_recipient_count_before_sending_for_groups(admin_client):
    group = Group.objects.create(name="Beta testers")
    for n in range(3):
        User.objects.create_user(f"beta{n}", f"beta{n}@example.com", "x").groups.add(group)
    User.objects.create_user("outsider", "out@example.com", "x")
    User.objects.create_user("ghost", "ghost@example.com", "x", is_active=False).groups.add(group)
    notification = Notification.objects.create(subject="G", text_body="t", audience="groups")
    notification.groups.add(group)

    page = admin_client.get(reverse("admin:notifications_notification_change",
                                    args=[notification.pk]))

    assert page.context["recipients"]["recipients"] == 3
    assert 'id="progress-bar"' in page.content.decode()


def test_send_now_and_retry_refuse_the_wrong_states(client, operator):
    client.force_login(operator)
    sent = Notification.objects.create(subject="Done", text_body="t", status="sent")
    draft = Notification.objects.create(subject="Draft", text_body="t")

    def post(name, notification):
        url = reverse(f"admin:notifications_notification_{name}", args=[notification.pk])
        response = client.post(url, {"confirm": "yes"}, follow=True)
        return [str(message) for message in response.context["messages"]]

    assert post("send", sent)[0].startswith("Already sent (finished ")
    assert post("retry-failed", draft) == [
        "Only a failed or partially failed notification can retry."]
    assert post("send", draft) == ["Sending started: progress updates below."]
    sent.refresh_from_db()
    assert sent.status == "sent" and not OutgoingEmail.objects.filter(notification=sent).exists()
