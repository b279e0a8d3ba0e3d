"""A staff member sends a notification in Chromium under DEBUG: Send now, the confirmation,
then the progress moves from queued to Sent on the same page, with no reload."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import User
from notifications.models import Notification
from notifications.tests.helpers import make_users
from tests.processes import CeleryWorker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.worker
def test_send_now_confirm_and_watch_it_reach_sent(page, live_server, client, smtp, settings,
                                                   only_our_workers):
    settings.DEBUG = True  # as `make run` serves it
    make_users(61, "reader")
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "x"))
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    notification = Notification.objects.create(subject="Browser send", html_body="<p>Hi</p>")

    page.goto(live_server.url + reverse("admin:notifications_notification_change",
                                        args=[notification.pk]))
    page.click("#send-now")
    expect(page.locator("#send-recipients")).to_have_text("62")
    page.click("#confirm-submit")

    # No worker yet: the send is queued, and the page already polls.
    status = page.locator("#notification-status")
    expect(status).to_have_text("Queued: waiting for a worker")
    page.evaluate("window.sameDocument = true")
    worker = CeleryWorker(extra_env=smtp.env()).start()
    try:
        expect(status).to_have_text("Sent", timeout=90_000)
        expect(page.locator('#progress-counts [data-count="sent"]')).to_have_text("62")
        assert page.evaluate("window.sameDocument === true")  # updated in place
        notification.refresh_from_db()
        assert notification.status == "sent"
    finally:
        worker.stop()


def test_the_compose_form_shows_the_fields_of_the_chosen_audience(page, live_server, client):
    client.force_login(User.objects.create_superuser("composer", "c@example.com", "x"))
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.goto(live_server.url + reverse("admin:notifications_notification_add"))
    addresses, groups = page.locator("#id_addresses"), page.locator("#id_groups_from, #id_groups")

    expect(addresses).to_be_hidden()
    page.select_option("#id_audience", "addresses")
    expect(addresses).to_be_visible()
    page.select_option("#id_audience", "groups")
    expect(addresses).to_be_hidden()
    expect(groups.first).to_be_visible()
