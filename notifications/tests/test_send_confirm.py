"""Send now asks first: a confirmation page with the numbers, Confirm (POST) and Cancel."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from accounts.roles import AUDITORS, OPERATORS, roles_sync
from backoffice.celery import app
from notifications.models import Notification, Subscription, Suppression
from tests.people import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def roles():
    roles_sync()


@pytest.fixture
def operator(roles):
    return member("opal", OPERATORS)


@pytest.fixture
def auditor(roles):
    return member("audrey", AUDITORS)


def confirm_url(notification):
    return reverse("admin:notifications_notification_send", args=[notification.pk])


def change_url(notification):
    return reverse("admin:notifications_notification_change", args=[notification.pk])


@pytest.fixture
def queue_held(only_our_workers):
    """The broker's queues as the test leaves them: no running worker takes from them."""


def bulk_queue_depth() -> int:
    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare("bulk").message_count


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_page_states_who_gets_it_and_who_is_left_out(client, operator):
    Suppression.objects.create(email="bounced@example.com", reason="bounced")
    notification = Notification.objects.create(
        subject="Spring sale", text_body="t", audience="addresses",
        addresses="a@example.com\nb@example.com\nBOUNCED@example.com\nnot-an-address\n"
                  "a@example.com\nleaver@example.com")
    leaver = User.objects.create_user("leaver", "leaver@example.com", "x")
    Subscription.objects.create(user=leaver, topic="announcements", subscribed=False)
    client.force_login(operator)

    page = client.get(confirm_url(notification))

    html = page.content.decode()
    assert page.status_code == 200
    assert page.context["breakdown"] == {
        "recipients": 2, "suppressed": 1, "unsubscribed": 1, "invalid": 1, "duplicates": 1,
        "excluded": 3}
    assert "Spring sale" in html and "Pasted list of addresses" in html
    assert 'id="send-recipients" data-count="2"' in html
    assert 'data-count-suppressed="1"' in html and 'data-count-unsubscribed="1"' in html
    assert 'data-count-invalid="1"' in html and "Send now to 2 recipients" in html
    assert f'href="{change_url(notification)}"' in html  # Cancel goes back
    notification.refresh_from_db()
    assert notification.status == "draft"
    assert not notification.emails.exists()  # a look sends nothing


def test_a_group_audience_counts_users_unsubscribed_and_suppressed(client, operator):
    group = Group.objects.create(name="Beta testers")
    for name in ("ann", "bob", "cid", "dee"):
        User.objects.create_user(name, f"{name}@example.com", "x").groups.add(group)
    User.objects.create_user("eve", "eve@example.com", "x", is_active=False).groups.add(group)
    Subscription.objects.create(user=User.objects.get(username="bob"), topic="newsletter",
                                subscribed=False)
    Suppression.objects.create(email="cid@example.com", reason="manual")
    notification = Notification.objects.create(subject="Beta", text_body="t",
                                               audience="groups", topic="newsletter")
    notification.groups.add(group)
    client.force_login(operator)

    breakdown = client.get(confirm_url(notification)).context["breakdown"]

    assert breakdown["recipients"] == 2  # ann and dee; eve is inactive
    assert (breakdown["unsubscribed"], breakdown["suppressed"]) == (1, 1)


def test_cancel_and_an_unconfirmed_post_change_nothing(client, operator, queue_held):
    notification = Notification.objects.create(subject="S", text_body="t")
    client.force_login(operator)
    depth = bulk_queue_depth()

    response = client.post(confirm_url(notification), follow=True)

    assert messages_of(response) == ["Not sent; nothing changed."]
    notification.refresh_from_db()
    assert notification.status == "draft" and not notification.emails.exists()
    assert bulk_queue_depth() == depth


@pytest.mark.django_db(transaction=True)  # the drain is queued when the start commits
def test_confirming_twice_starts_one_send(client, operator, queue_held):
    User.objects.create_user("reader", "reader@example.com", "x")
    notification = Notification.objects.create(subject="Once", text_body="t")
    client.force_login(operator)
    depth = bulk_queue_depth()

    first = client.post(confirm_url(notification), {"confirm": "yes"}, follow=True)
    rows = set(notification.emails.values_list("pk", flat=True))
    second = client.post(confirm_url(notification), {"confirm": "yes"}, follow=True)

    assert messages_of(first) == ["Sending started: progress updates below."]
    assert messages_of(second)[0].startswith("Already sending (started ")
    notification.refresh_from_db()
    assert notification.status == "sending" and len(rows) == 2  # the reader and the operator
    assert set(notification.emails.values_list("pk", flat=True)) == rows  # written once
    assert bulk_queue_depth() == depth + 1  # one drain on the broker, not two
    page = client.get(confirm_url(notification))
    assert page.context["confirm_error"].startswith("Already sending")
    assert 'id="confirm-submit"' not in page.content.decode()


def test_without_the_send_permission_it_is_403_and_nothing_changes(client, auditor,
                                                                   queue_held):
    notification = Notification.objects.create(subject="S", text_body="t")
    client.force_login(auditor)
    depth = bulk_queue_depth()

    assert client.get(confirm_url(notification)).status_code == 403
    assert client.post(confirm_url(notification), {"confirm": "yes"}).status_code == 403

    notification.refresh_from_db()
    assert notification.status == "draft" and not notification.emails.exists()
    assert bulk_queue_depth() == depth
    assert 'id="send-now"' not in client.get(change_url(notification)).content.decode()
