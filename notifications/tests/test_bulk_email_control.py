"""Bulk mail that providers accept and recipients control, through Redis, a real worker and
an aiosmtpd server: bulk headers, one-click unsubscribe, skips, personal fields, DKIM."""

import base64
import email.policy
import re
import subprocess
from email import message_from_bytes

import dkim
import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from notifications.models import Notification, OutgoingEmail, Suppression
from notifications.tasks import send_bulk_notifications
from notifications.tests.helpers import finished, rows_by_status, user_with_welcome_email
from tests.processes import CeleryWorker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
BULK_HEADERS = ("List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID", "List-Id")


def by_recipient(smtp, subject_start: str) -> dict:
    return {m["X-Envelope-To"]: m for m in smtp.messages
            if str(m["Subject"]).startswith(subject_start)}


def parts(message) -> dict[str, str]:
    parsed = message_from_bytes(message.as_bytes(), policy=email.policy.default)
    return {part.get_content_type(): part.get_content() for part in parsed.walk()
            if not part.is_multipart()}


def one_click(client: Client, message) -> int:
    url = re.search(r"<(https?://[^>]+)>", message["List-Unsubscribe"]).group(1)
    return client.post(url.removeprefix(settings.SITE_URL), "List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded").status_code


def test_bulk_mail_has_the_headers_and_transactional_mail_has_none(celery_worker, smtp):
    User.objects.create_user("ann", "ann@example.com", "pw", first_name="Ann")
    notification = Notification.objects.create(subject="Headers", html_body="<p>Hi</p>",
                                               audience="users")
    notification.users.set(User.objects.all())
    send_bulk_notifications.delay(notification.pk).get(timeout=60)
    user_with_welcome_email("bob", "bob@example.com")
    smtp.wait_for(2)

    bulk = by_recipient(smtp, "Headers")["ann@example.com"]
    assert bulk["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = bulk["List-Unsubscribe"]
    assert re.fullmatch(r"<http://127\.0\.0\.1:8000/email/unsubscribe/[^>]+/>,\s*"
                        r"<mailto:unsubscribe@localhost\?subject=unsubscribe%20[^>]+>",
                        unsubscribe), unsubscribe
    assert bulk["Feedback-ID"] == f"n{notification.pk}:announcements:bulk:backoffice"
    assert bulk["Message-ID"] == OutgoingEmail.objects.get(notification=notification).message_id
    assert bulk["Date"] and bulk["List-Id"].startswith("Announcements <announcements.")
    footer = parts(bulk)
    assert "Unsubscribe: http://127.0.0.1:8000/email/unsubscribe/" in footer["text/plain"]
    assert ">Unsubscribe</a>" in footer["text/html"]

    welcome = next(m for m in smtp.messages if m["X-Envelope-To"] == "bob@example.com")
    assert welcome["Message-ID"] and welcome["Date"]
    assert not any(welcome[name] for name in BULK_HEADERS)
    assert "unsubscribe" not in welcome.as_string().lower()


def test_one_click_unsubscribe_then_the_next_send_skips_that_user(celery_worker, smtp):
    for name in ("cat", "dan"):
        User.objects.create_user(name, f"{name}@example.com", "pw")
    first = Notification.objects.create(subject="First", text_body="one")
    send_bulk_notifications.delay(first.pk).get(timeout=60)
    smtp.wait_for(2)
    client = Client(enforce_csrf_checks=True)
    message = by_recipient(smtp, "First")["cat@example.com"]
    tampered = message["List-Unsubscribe"].replace("/>", "x/>", 1)
    assert one_click(client, type("M", (), {"__getitem__": lambda s, k: tampered})()) == 400
    assert one_click(client, message) == 200

    second = Notification.objects.create(subject="Second", text_body="two")
    send_bulk_notifications.delay(second.pk).get(timeout=60)

    assert finished(second).status == "sent"
    assert rows_by_status(second) == {"sent": 1, "skipped": 1}
    skipped = OutgoingEmail.objects.get(notification=second, to_email="cat@example.com")
    assert (skipped.status, skipped.last_error) == ("skipped", "unsubscribed from announcements")
    smtp.wait_for(3)
    assert set(by_recipient(smtp, "Second")) == {"dan@example.com"}


def test_personal_fields_differ_per_recipient_and_names_are_escaped(celery_worker, smtp):
    User.objects.create_user("eve", "eve@example.com", "pw", first_name="Eve", last_name="Ng")
    User.objects.create_user("mal", "mal@example.com", "pw", first_name="<script>x</script>")
    User.objects.create_user("nobody", "nobody@example.com", "pw")
    notification = Notification.objects.create(
        subject="Hi {{ first_name|default:'friend' }}",
        html_body="<p>Dear {{ first_name|default:'friend' }} {{ last_name }} "
                  "({{ username }}, {{ email }})</p>",
        text_body="Dear {{ first_name|default:'friend' }} ({{ username }})")
    send_bulk_notifications.delay(notification.pk).get(timeout=60)
    mails = {m["X-Envelope-To"]: m for m in smtp.wait_for(3)}

    eve, mal, nobody = (parts(mails[f"{n}@example.com"]) for n in ("eve", "mal", "nobody"))
    assert mails["eve@example.com"]["Subject"] == "Hi Eve"
    assert "<p>Dear Eve Ng (eve, eve@example.com)</p>" in eve["text/html"]
    assert eve["text/plain"].startswith("Dear Eve (eve)")
    assert "Dear &lt;script&gt;x&lt;/script&gt; " in mal["text/html"]
    assert "<script>" not in mal["text/html"]
    assert mal["text/plain"].startswith("Dear <script>x</script> (mal)")  # not HTML
    assert mails["nobody@example.com"]["Subject"] == "Hi friend"
    assert nobody["text/plain"].startswith("Dear friend (nobody)")


def test_suppressed_and_refused_addresses_are_skipped_with_the_reason(celery_worker, smtp):
    Suppression.objects.create(email="gone@example.com", reason="unsubscribed")
    smtp.fail_rule = lambda address, attempt: ("550 no such user"
                                               if address == "bad@example.com" else None)
    pasted = "gone@example.com\nbad@example.com\nok@example.com"
    first = Notification.objects.create(subject="Pasted", text_body="t",
                                        audience="addresses", addresses=pasted)
    send_bulk_notifications.delay(first.pk).get(timeout=60)

    assert finished(first).status == "partially_failed"
    assert rows_by_status(first) == {"sent": 1, "failed": 1, "skipped": 1}
    gone = OutgoingEmail.objects.get(notification=first, to_email="gone@example.com")
    assert (gone.status, gone.last_error) == ("skipped", "suppressed: unsubscribed")
    bounced = Suppression.objects.get(email="bad@example.com")
    assert bounced.reason == "bounced" and "550" in bounced.detail

    again = Notification.objects.create(subject="Again", text_body="t",
                                        audience="addresses", addresses=pasted)
    send_bulk_notifications.delay(again.pk).get(timeout=60)
    finished(again)
    assert rows_by_status(again) == {"sent": 1, "skipped": 2}
    assert OutgoingEmail.objects.get(notification=again, to_email="bad@example.com").last_error == \
        "suppressed: refused permanently (5xx)"


@pytest.fixture(scope="module")
def dkim_keys(tmp_path_factory):
    """A fresh RSA key pair (PEM private key, base64 DER public key for the DNS record)."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    try:
        subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(private), "2048"],
                       check=True, capture_output=True)
        public = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout",
                                 "-outform", "DER"], check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a key: {exc}")
    return private.read_text(), base64.b64encode(public).decode()


def test_every_message_is_dkim_signed_under_development_settings(smtp, only_our_workers,
                                                                 dkim_keys):
    """A worker on the development settings (DEBUG on), as `make run` starts it."""
    private, public = dkim_keys
    User.objects.create_user("fay", "fay@example.com", "pw", first_name="Fäy")
    notification = Notification.objects.create(subject="Signed for {{ first_name }}",
                                               html_body="<p>Grüße {{ first_name }}</p>")
    env = {**smtp.env(), "DJANGO_SETTINGS_MODULE": "backoffice.settings.dev", "DEBUG": "true",
           "REDIS_URL": settings.REDIS_URL, "DKIM_PRIVATE_KEY": private.replace("\n", "\\n"),
           "DKIM_SELECTOR": "bo2026", "DKIM_DOMAIN": "example.org"}
    worker = CeleryWorker(concurrency=1, extra_env=env).start()
    try:
        send_bulk_notifications.delay(notification.pk)
        finished(notification, timeout=60)
        user_with_welcome_email("gil", "gil@example.com")
        received = smtp.wait_for(2)
    finally:
        worker.stop()

    def dns(name, timeout=5):
        assert name == b"bo2026._domainkey.example.org."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert notification.status == "sent"
    for message in received:
        raw = message.raw_bytes
        assert b"d=example.org" in raw and b"s=bo2026" in raw
        assert dkim.verify(raw, dnsfunc=dns), message["Subject"]
        assert not dkim.verify(raw.replace(b"Gr", b"gr", 1), dnsfunc=dns)
