"""The page the password-reset email links to: a new password twice, then the link is spent."""

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from accounts.tests.test_email_flow import parts
from tests.processes import BASE_DIR


def reset_path(link: str) -> str:
    parsed = urlsplit(link)
    return f"{parsed.path}?{parsed.query}"


def form(html: str) -> bool:
    return 'id="reset-form"' in html


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_emailed_link_opens_a_form_that_sets_the_password_once(celery_worker, smtp,
                                                                    registration):
    api = APIClient()
    api.post("/api/register/", registration, format="json")
    smtp.wait_for(1)
    api.post("/api/password-reset/", {"email": "ada@example.com"}, format="json")
    link = re.search(r"https?://\S+", parts(smtp.wait_for(2)[1])["text/plain"]).group(0)
    assert link.startswith(f"{settings.SITE_URL}/account/reset/?uid=")
    page, browser = reset_path(link), Client()

    opened = browser.get(page)
    assert opened.status_code == 200 and form(opened.content.decode())

    differ = browser.post(page, {"new_password1": "Fresh-password-2026",
                                 "new_password2": "Fresh-password-2027"})
    assert differ.status_code == 400 and "The two passwords differ." in differ.content.decode()
    weak = browser.post(page, {"new_password1": "ada", "new_password2": "ada"})
    weak_html = weak.content.decode()
    assert weak.status_code == 400 and form(weak_html)
    assert "too short" in weak_html and "too similar" in weak_html  # the validators' messages
    assert api.post("/api/login/", {"username": "ada", "password": registration["password"]},
                    format="json").status_code == 200  # nothing changed yet

    done = browser.post(page, {"new_password1": "Fresh-password-2026",
                               "new_password2": "Fresh-password-2026"})
    assert done.status_code == 200 and "Your password has been changed" in done.content.decode()
    login = api.post("/api/login/", {"username": "ada", "password": "Fresh-password-2026"},
                     format="json")
    assert login.status_code == 200 and login.json()["token"]

    again = browser.get(page)
    assert again.status_code == 400 and not form(again.content.decode())
    assert "used already, has expired" in again.content.decode()
    replay = browser.post(page, {"new_password1": "Another-password-77",
                                 "new_password2": "Another-password-77"})
    assert replay.status_code == 400
    assert api.post("/api/login/", {"username": "ada", "password": "Fresh-password-2026"},
                    format="json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?uid=&token=", "?uid=MQ&token=nope", "?uid=%00&token=x"])
def test_a_damaged_link_says_so_and_offers_no_form(client, django_user_model, query):
    django_user_model.objects.create_user("ada", "ada@example.com", "Old-password-2026")

    response = client.get(f"/account/reset/{query}")

    assert response.status_code == 400
    assert "This link cannot be used" in response.content.decode()
    assert not form(response.content.decode())


@pytest.mark.django_db
def test_a_post_with_someone_elses_token_changes_nothing(client, django_user_model):
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "Old-password-2026")
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "Old-password-2026")
    uid = urlsafe_base64_encode(force_bytes(ada.pk))
    token = default_token_generator.make_token(bob)

    response = client.post(f"/account/reset/?uid={uid}&token={token}",
                           {"new_password1": "Fresh-password-2026",
                            "new_password2": "Fresh-password-2026"})

    assert response.status_code == 400
    ada.refresh_from_db()
    assert ada.check_password("Old-password-2026")


@pytest.mark.slow
def test_the_link_is_built_from_the_configured_site_url():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings.dev",
           "SITE_URL": "https://backoffice.example.com/"}
    env.pop("PASSWORD_RESET_LINK", None)
    done = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; "
         "print(settings.PASSWORD_RESET_LINK)"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)

    assert done.stdout.strip() == ("https://backoffice.example.com/account/reset/"
                                   "?uid={uid}&token={token}")
