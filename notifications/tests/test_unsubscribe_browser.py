"""A recipient follows the unsubscribe link in Chromium: a themed page, one press."""

import pytest
from django.test import override_settings

from accounts.models import User
from notifications.recipients import preferences_read, unsubscribe_token, unsubscribe_url
from tests.processes import LOG_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_unsubscribe_and_choose_topics_in_the_browser(page, live_server):
    user = User.objects.create_user("reader", "reader@example.com", "pw")
    with override_settings(SITE_URL=live_server.url):
        url = unsubscribe_url(unsubscribe_token(email=user.email, user_id=user.pk,
                                                topic="announcements"))

    page.goto(url)
    assert "Stop sending announcements to reader@example.com?" in page.inner_text(
        "#unsubscribe-message")
    assert preferences_read(user=user)["announcements"] is True  # a visit changes nothing
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(LOG_DIR / "unsubscribe.png"), full_page=True)
    page.click("#unsubscribe-button")

    page.wait_for_selector("text=You are unsubscribed")
    assert preferences_read(user=user) == {"announcements": False, "newsletter": True}
    page.uncheck("input[value=newsletter]")
    page.click("#preferences-button")
    page.wait_for_selector("text=Your choices are saved")
    assert preferences_read(user=user) == {"announcements": False, "newsletter": False}
