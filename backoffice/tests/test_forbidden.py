"""An expected 403 is a themed page with a way back, and one log line without a traceback."""

import logging

import pytest

from accounts.roles import AUDITORS
from tests.people import member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])
def test_a_refused_page_is_themed_and_logged_in_one_line(client, settings, caplog, debug):
    settings.DEBUG = debug
    client.force_login(member("audrey", AUDITORS))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/admin/django_celery_beat/periodictask/add/")

    body = response.content.decode()
    assert response.status_code == 403
    assert 'id="forbidden"' in body and 'href="/admin/" id="forbidden-back"' in body
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == [
        "Forbidden (Permission denied): /admin/django_celery_beat/periodictask/add/"]
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("path", ["/account/reset/?uid=MQ&token=x", "/email/unsubscribe/damaged/",
                                  "/account/email/confirm/?token=x"])
def test_public_pages_offer_no_way_into_the_admin_login(client, path):
    body = client.get(path).content.decode()

    assert "Return to site" not in body and 'href="/admin/"' not in body
