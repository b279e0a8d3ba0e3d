"""The development mail catcher: an SMTP server that keeps what it receives, and the admin
page where superusers read it, safely (no script runs, links work)."""

import os
import smtplib
import sys
from email.message import EmailMessage

import pytest
from django.urls import reverse

from accounts.roles import OPERATORS
from devmail.models import CaughtEmail
from devmail.selectors import readable
from devmail.services import caught_email_store
from tests.people import member
from tests.processes import ManagedProcess, free_port, subprocess_env, wait_until

pytestmark = pytest.mark.django_db
HOSTILE_HTML = ('<p onclick="steal()">Hello <b>Ann</b></p><script>steal()</script>'
                '<a href="https://example.com/account/reset/?uid=MQ&amp;token=abc">Reset</a>'
                '<a href="javascript:steal()">bad</a><style>p{}</style>')


def message_bytes(subject="Reset your password", html=HOSTILE_HTML) -> bytes:
    message = EmailMessage()
    message["From"] = "Backoffice <backoffice@localhost>"
    message["To"] = "ann@example.com"
    message["Subject"] = subject
    message.set_content("Open https://example.com/account/reset/?uid=MQ&token=abc")
    message.add_alternative(html, subtype="html")
    return bytes(message)


@pytest.fixture
def catcher_on(settings):
    settings.MAIL_CATCHER = True


def test_a_message_is_kept_with_its_envelope_and_subject(settings):
    data = message_bytes()
    caught = caught_email_store(mail_from="backoffice@localhost",
                                recipients=["ann@example.com"], data=data)

    caught.refresh_from_db()
    assert caught.subject == "Reset your password"
    assert caught.recipients == ["ann@example.com"]
    assert bytes(caught.raw) == data


def test_only_the_newest_are_kept(settings):
    settings.MAIL_CATCHER_KEEP = 3
    for n in range(5):
        caught_email_store(mail_from="a@b.c", recipients=["x@y.z"],
                           data=message_bytes(subject=f"number {n}"))

    assert sorted(CaughtEmail.objects.values_list("subject", flat=True)) == [
        "number 2", "number 3", "number 4"]


def test_the_html_is_shown_without_scripts_handlers_or_bad_links_and_links_work():
    shown = readable(message_bytes())

    assert "<script" not in shown.html and "steal()" not in shown.html
    assert "onclick" not in shown.html and "<style" not in shown.html
    assert "javascript:" not in shown.html
    assert 'href="https://example.com/account/reset/?uid=MQ&amp;token=abc"' in shown.html
    assert 'target="_blank"' in shown.html and 'rel="noopener noreferrer"' in shown.html
    assert shown.text.startswith("Open https://example.com/account/reset/")
    assert ("Subject", "Reset your password") in shown.headers


def test_a_superuser_reads_it_in_the_admin(admin_client, catcher_on):
    caught = caught_email_store(mail_from="backoffice@localhost",
                                recipients=["ann@example.com"], data=message_bytes())

    listing = admin_client.get(reverse("admin:devmail_caughtemail_changelist"))
    detail = admin_client.get(reverse("admin:devmail_caughtemail_change", args=[caught.pk]))

    assert listing.status_code == 200 and "Reset your password" in listing.content.decode()
    body = detail.content.decode()
    assert detail.status_code == 200
    assert 'id="caught-html"' in body and "<script>steal()" not in body
    assert "Hello <b>Ann</b>" in body  # rendered, not escaped twice
    assert "Open https://example.com/account/reset/?uid=MQ&amp;token=abc" in body
    assert "Caught mail" in admin_client.get("/admin/").content.decode()  # in the sidebar


def test_other_staff_and_a_disabled_catcher_show_nothing(client, admin_client, settings):
    caught = caught_email_store(mail_from="a@b.c", recipients=["x@y.z"], data=message_bytes())
    url = reverse("admin:devmail_caughtemail_change", args=[caught.pk])

    settings.MAIL_CATCHER = True
    client.force_login(member("opal", OPERATORS))
    assert client.get(url).status_code == 403
    assert client.post(reverse("admin:devmail_caughtemail_delete", args=[caught.pk]),
                       {"post": "yes"}).status_code == 403
    settings.MAIL_CATCHER = False
    assert admin_client.get(url).status_code == 403
    assert "Caught mail" not in admin_client.get("/admin/").content.decode()
    assert CaughtEmail.objects.filter(pk=caught.pk).exists()


def test_the_production_settings_keep_it_off():
    import subprocess

    env = {**subprocess_env(), "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
           "SECRET_KEY": "x" * 60, "MAIL_CATCHER": "true"}
    env.pop("EMAIL_URL", None)
    out = subprocess.run([sys.executable, "-c", "import django; django.setup(); "
                          "from django.conf import settings; print(settings.MAIL_CATCHER)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_catcher_under_development_settings_keeps_what_smtp_sends():
    port = free_port()
    env = {key: value for key, value in subprocess_env().items()
           if not key.startswith("EMAIL_") and key not in {"MAIL_CATCHER", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="backoffice.settings.dev", MAIL_CATCHER_PORT=str(port))
    catcher = ManagedProcess("catcher", [sys.executable, "manage.py", "mailcatcher"], env)
    catcher.start()
    try:
        wait_until(lambda: f"listening on 127.0.0.1:{port}" in catcher.log_tail(), timeout=30,
                   what=f"the catcher to listen\n{catcher.log_tail()}")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            refused = smtp.sendmail("backoffice@localhost", ["ann@example.com", "bo@example.com"],
                                    message_bytes())
        caught = wait_until(lambda: CaughtEmail.objects.first(), timeout=15,
                            what="the message in the database")
    finally:
        catcher.stop()
    assert refused == {}
    assert caught.recipients == ["ann@example.com", "bo@example.com"]
    assert caught.subject == "Reset your password"
    assert not catcher.alive() and os.path.exists(catcher.log_path)


def test_the_command_refuses_when_the_catcher_is_off(settings):
    from django.core.management import CommandError, call_command

    settings.MAIL_CATCHER = False
    with pytest.raises(CommandError, match="the mail catcher is off"):
        call_command("mailcatcher")
