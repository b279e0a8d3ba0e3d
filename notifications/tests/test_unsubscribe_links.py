"""The unsubscribe link's limits: it expires, its page's preference form needs a CSRF token
(the one-click POST does not), and a preview never shows a link that works."""

import os
import re
import subprocess
import sys
import time

import pytest
from django.contrib.auth.models import Group
from django.core import signing
from django.test import Client

from accounts.models import User
from accounts.roles import AUDITORS, OPERATORS, roles_sync
from notifications.models import Notification, Subscription, Suppression
from notifications.recipients import (
    SALT,
    preferences_read,
    unsubscribe_target,
    unsubscribe_token,
    unsubscribe_url,
)

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture
def reader():
    return User.objects.create_user("reader", "reader@example.com", "pw", first_name="Ria")


def path_of(token: str) -> str:
    return unsubscribe_url(token).removeprefix("http://127.0.0.1:8000")


def token_made(monkeypatch, *, days_ago: float, user=None, email="", topic="announcements"):
    """A token as the link of a message sent `days_ago` days ago carries it."""
    then = time.time() - days_ago * DAY
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: then)
        return unsubscribe_token(email=email or user.email, user_id=user.pk if user else None,
                                 topic=topic)


def assert_nothing_changed():
    assert not Subscription.objects.exists() and not Suppression.objects.exists()


# --- Expiry --------------------------------------------------------------------------------


def test_a_link_inside_its_max_age_works_with_one_click(reader, monkeypatch, settings):
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 90
    token = token_made(monkeypatch, days_ago=89, user=reader)
    client = Client(enforce_csrf_checks=True)
    response = client.post(path_of(token), "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert preferences_read(user=reader)["announcements"] is False


@pytest.mark.parametrize("method", ["get", "one-click", "preferences"])
def test_an_expired_link_shows_a_clear_page_and_changes_nothing(client, reader, monkeypatch,
                                                               settings, method):
    settings.DEBUG = True  # as `make run` serves it
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 90
    url = path_of(token_made(monkeypatch, days_ago=91, user=reader))
    if method == "get":
        response = client.get(url)
    elif method == "one-click":
        response = client.post(url, "List-Unsubscribe=One-Click",
                               content_type="application/x-www-form-urlencoded")
    else:
        response = client.post(url, {"action": "preferences", "topics": []})
    page = response.content.decode()
    assert response.status_code == 410
    assert "This link has expired" in page and "log in" in page
    assert "reader@example.com" not in page  # an expired link names nobody
    assert 'name="topics"' not in page and 'id="unsubscribe-button"' not in page
    assert_nothing_changed()


def test_an_address_without_account_is_told_the_link_expired(client, monkeypatch, settings):
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 30
    url = path_of(token_made(monkeypatch, days_ago=31, email="pasted@example.com"))
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    assert_nothing_changed()


def test_a_correctly_signed_token_without_a_time_counts_as_expired(client, reader):
    token = signing.Signer(salt=SALT).sign_object(
        {"e": reader.email, "u": reader.pk, "t": "announcements"})
    with pytest.raises(signing.SignatureExpired):
        unsubscribe_target(token)
    response = client.post(path_of(token), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    assert_nothing_changed()


def test_tokens_are_what_djangos_timestamp_signer_makes(reader, settings):
    token = unsubscribe_token(email=reader.email, user_id=reader.pk, topic="newsletter")
    assert signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=60) == {
        "e": reader.email, "u": reader.pk, "t": "newsletter"}
    target = unsubscribe_target(token)
    assert (target.email, target.user_id, target.topic) == (reader.email, reader.pk,
                                                            "newsletter")
    settings.SECRET_KEY = "another-secret-key-" * 3
    with pytest.raises(signing.BadSignature):
        unsubscribe_target(token)


@pytest.mark.slow
@pytest.mark.parametrize("value", ["29", "ninety"])
def test_the_max_age_setting_is_validated(value):
    result = subprocess.run(
        [sys.executable, "-c", "import backoffice.settings.dev"], capture_output=True,
        text=True, timeout=120, env={**os.environ, "UNSUBSCRIBE_LINK_MAX_AGE_DAYS": value,
                                     "DJANGO_SETTINGS_MODULE": "backoffice.settings.dev"})
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "configuration error: UNSUBSCRIBE_LINK_MAX_AGE_DAYS" in line


# --- CSRF on the preference form ----------------------------------------------------------


def test_saving_choices_needs_the_pages_csrf_token_one_click_does_not(reader):
    visitor = Client(enforce_csrf_checks=True)
    url = path_of(unsubscribe_token(email=reader.email, user_id=reader.pk,
                                    topic="announcements"))

    forged = visitor.post(url, {"action": "preferences", "topics": []},
                                  HTTP_ORIGIN="https://evil.example")
    assert forged.status_code == 403
    assert "Your choices were not saved" in forged.content.decode()
    assert_nothing_changed()

    page = visitor.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"',
                      page.content.decode()).group(1)
    assert page.content.decode().count('name="csrfmiddlewaretoken"') >= 1
    saved = visitor.post(url, {"action": "preferences", "topics": ["newsletter"],
                                       "csrfmiddlewaretoken": token})
    assert saved.status_code == 200 and "Your choices are saved" in saved.content.decode()
    assert preferences_read(user=reader) == {"announcements": False, "newsletter": True}

    one_click = Client(enforce_csrf_checks=True).post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200
    assert preferences_read(user=reader) == {"announcements": False, "newsletter": True}


def test_the_unsubscribe_button_works_without_a_session_under_debug(reader, settings):
    settings.DEBUG = True
    url = path_of(unsubscribe_token(email=reader.email, user_id=reader.pk,
                                    topic="newsletter"))
    response = Client(enforce_csrf_checks=True).post(url, {})
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert preferences_read(user=reader)["newsletter"] is False


# --- Previews ------------------------------------------------------------------------------


TOKEN_IN_URL = re.compile(r"/email/unsubscribe/([^/\s\"<>]+)/")


@pytest.mark.parametrize("role", ["superuser", "operator", "auditor"])
def test_a_preview_shows_a_link_that_unsubscribes_nobody(client, reader, role, settings):
    settings.DEBUG = True
    roles_sync()
    if role == "superuser":
        viewer = User.objects.create_superuser("boss", "boss@example.com", "pw")
    else:
        viewer = User.objects.create_user(role, f"{role}@example.com", "pw", is_staff=True)
        viewer.groups.add(Group.objects.get(name=AUDITORS if role == "auditor" else OPERATORS))
    client.force_login(viewer)
    notification = Notification.objects.create(subject="News", html_body="<p>Hi</p>",
                                               text_body="Hi")
    response = client.get(f"/admin/notifications/notification/{notification.pk}/change/",
                          {"preview_as": "reader"})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview["recipient"].email == "reader@example.com"
    tokens = set(TOKEN_IN_URL.findall(preview["text"]) + TOKEN_IN_URL.findall(preview["html"]))
    assert tokens, (preview["text"], preview["html"])
    assert "preview" in preview["text"].lower() and "preview" in preview["html"].lower()
    public = Client(enforce_csrf_checks=True)
    for token in tokens:
        with pytest.raises(signing.BadSignature):
            unsubscribe_target(token)
        assert public.get(f"/email/unsubscribe/{token}/").status_code == 400
        assert public.post(f"/email/unsubscribe/{token}/", "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded").status_code == 400
    assert preferences_read(user=reader) == {"announcements": True, "newsletter": True}
    assert_nothing_changed()


def test_a_token_made_today_still_expires_after_the_configured_days(reader, settings,
                                                                   monkeypatch):
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 120
    token = token_made(monkeypatch, days_ago=100, user=reader)
    assert unsubscribe_target(token).user_id == reader.pk
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 99
    with pytest.raises(signing.SignatureExpired):
        unsubscribe_target(token)
