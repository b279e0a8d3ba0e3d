"""Registration and password reset end to end: HTTP -> commit -> Redis -> worker -> SMTP."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django_celery_results.models import TaskResult
from rest_framework.test import APIClient

from notifications.models import OutgoingEmail
from notifications.tests.helpers import final
from tests.processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def parts(message):
    return {part.get_content_type(): part.get_payload(decode=True).decode()
            for part in message.walk() if not part.is_multipart()}


def test_registration_sends_welcome_email_through_the_worker(celery_worker, smtp, registration):
    response = APIClient().post("/api/register/", registration, format="json")

    assert response.status_code == 201
    assert response.json()["email_sent"] == "An email to the address given will be sent shortly"
    assert response.json()["email_queued"] is True
    [message] = smtp.wait_for(1)
    assert message["To"] == "ada@example.com"
    assert message["X-Envelope-To"] == "ada@example.com"
    assert "Welcome" in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert "Hello Ada" in body["text/plain"] and "<html" in body["text/html"]
    assert "Ada" in body["text/html"] and "ada" in body["text/plain"]
    email = final(OutgoingEmail.objects.get(user__username=response.json()["username"]))
    assert email.status == "sent" and email.attempts == 1 and email.sent_at
    assert email.message_id and email.message_id == message["Message-ID"]
    [attempt] = email.attempt_log
    assert attempt["outcome"] == "sent" and attempt["worker"] == celery_worker.hostname


def test_password_reset_end_to_end(celery_worker, smtp, registration):
    api = APIClient()
    api.post("/api/register/", registration, format="json")
    smtp.wait_for(1)

    assert api.post("/api/password-reset/", {"email": "ada@example.com"},
                    format="json").status_code == 200
    reset = smtp.wait_for(2)[1]
    assert reset["To"] == "ada@example.com" and "Reset" in reset["Subject"]
    text = parts(reset)["text/plain"]
    link = re.search(r"https?://\S+", text).group(0)
    assert link in parts(reset)["text/html"].replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    confirm = {"uid": query["uid"][0], "token": query["token"][0],
               "new_password": "Fresh-password-2026"}

    assert api.post("/api/password-reset/confirm/", confirm, format="json").status_code == 200
    login = api.post("/api/login/", {"username": "ada", "password": "Fresh-password-2026"},
                     format="json")
    assert login.status_code == 200 and login.json()["token"]
    old = api.post("/api/login/", {"username": "ada", "password": registration["password"]},
                   format="json")
    assert old.status_code == 400
    reused = api.post("/api/password-reset/confirm/",
                      {**confirm, "new_password": "Another-password-77"}, format="json")
    assert reused.status_code == 400 and "token" in reused.json()


def test_reset_lookup_runs_in_the_worker_for_known_and_unknown_addresses(celery_worker, smtp,
                                                                         registration):
    api = APIClient()
    api.post("/api/register/", registration, format="json")
    smtp.wait_for(1)

    known = api.post("/api/password-reset/", {"email": "ada@example.com"}, format="json")
    unknown = api.post("/api/password-reset/", {"email": "nobody@example.com"}, format="json")

    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    lookups = TaskResult.objects.filter(task_name="accounts.tasks.password_reset_lookup")
    wait_until(lambda: lookups.filter(status="SUCCESS").count() == 2, 30, "both lookups")
    assert sorted(r.result for r in lookups) == ['{"queued": 0}', '{"queued": 1}']
    messages = smtp.wait_for(2)
    assert [m["To"] for m in messages[1:]] == ["ada@example.com"]


def test_registering_a_taken_address_answers_alike_and_emails_its_owner(celery_worker, smtp,
                                                                      registration):
    api = APIClient()
    api.post("/api/register/", registration, format="json")
    smtp.wait_for(1)

    fresh = api.post("/api/register/", {**registration, "username": "bob",
                                        "email": "bob@example.com"}, format="json")
    taken = api.post("/api/register/", {**registration, "username": "eve",
                                        "email": "Ada@Example.com"}, format="json")

    assert fresh.status_code == taken.status_code == 201
    assert taken.json() == {**fresh.json(), "username": "eve"}
    assert taken.json()["email_queued"] is True
    by_to = {m["To"]: m for m in smtp.wait_for(3)[1:]}
    assert set(by_to) == {"bob@example.com", "ada@example.com"}
    notice = by_to["ada@example.com"]
    assert "tried to register" in notice["Subject"]
    text = parts(notice)["text/plain"]
    assert '"ada"' in text and "no account was created" in text and "reset your password" in text
    assert api.post("/api/login/", {"username": "eve", "password": registration["password"]},
                    format="json").status_code == 400
