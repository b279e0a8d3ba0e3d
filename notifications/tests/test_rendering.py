"""The bytes written per recipient equal what Django's email package makes of the same
message, and carry the bulk headers."""

import email
import email.policy

import pytest

from notifications.compose import BulkMessage, Recipient
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def _parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def test_written_bytes_match_a_full_rendering():
    notification = Notification.objects.create(
        subject="Ünïcode subject for {{ first_name }}, long enough to be folded when encoded",
        html_body="<p>Grüße <b>{{ first_name }}</b></p>" + "<p>x</p>" * 200)
    composer = BulkMessage(notification)
    recipient = Recipient(email="someone@example.com", first_name="Zoë")

    raw = composer.outgoing(recipient, 7)
    django = composer.outgoing(recipient, 7, raw=False)

    full = django.message.message(policy=email.policy.SMTP).as_bytes()
    ours, theirs = _parse(raw.payload), _parse(full)
    for header in ("Subject", "From", "To", "MIME-Version", "List-Unsubscribe-Post",
                   "Feedback-ID", "List-Id"):
        assert ours[header].split(";")[0] == theirs[header].split(";")[0], header
    assert ours["Subject"].startswith("Ünïcode subject for Zoë")
    assert ours["To"] == "someone@example.com" and ours["Message-ID"] == raw.message_id
    assert ours["Date"] and ours["List-Unsubscribe"].startswith("<http")
    assert [(part.get_content_type(), part.get_content()) for part in ours.iter_parts()] == [
        (part.get_content_type(), part.get_content()) for part in theirs.iter_parts()]
    assert b"\r\n" in raw.payload and b"\n" not in raw.payload.replace(b"\r\n", b"")


def test_non_ascii_addresses_fall_back_to_a_full_rendering():
    notification = Notification.objects.create(subject="S", text_body="t")
    outgoing = BulkMessage(notification).outgoing(Recipient(email="jürgen@exämple.com"))
    assert outgoing.payload is None and outgoing.message.to == ["jürgen@exämple.com"]


LONG = "A subject long enough to be folded over several header lines " * 3


@pytest.mark.parametrize("subject, html, text, first_name", [
    ("Plain ASCII for {{ first_name }}", "", "Hello {{ first_name }}", "Ada"),
    ("Ünïcode for {{ first_name }}", "<p>Grüße {{ first_name }}</p>", "", "Zoë Ångström"),
    (LONG + "{{ first_name }}", "<p>" + "long line " * 200 + "</p>", "short", "Bo"),
    ("日本語の件名 {{ first_name }}", "<p>本文 {{ first_name }}</p>", "本文", "太郎"),
    ("Quotes \"{{ first_name }}\" and = signs", "<p>a=b; c=d</p>", "a=b\n.\n..dots", "O'Hara"),
])
def test_every_kind_of_bulk_message_parses_back_as_written(subject, html, text, first_name):
    notification = Notification.objects.create(subject=subject, html_body=html, text_body=text)
    composer = BulkMessage(notification)
    recipient = Recipient(email="reader@example.com", first_name=first_name)
    expected_subject, expected_text, expected_html, _token = composer.parts(recipient, 3)

    raw = composer.outgoing(recipient, 3).payload
    parsed = _parse(raw)

    assert max(len(line) for line in raw.split(b"\r\n")) <= 998  # RFC 5322 line limit
    assert raw.isascii()
    assert parsed["Subject"] == expected_subject
    assert parsed["To"] == "reader@example.com" and not parsed.defects
    bodies = {part.get_content_type(): part.get_content() for part in parsed.walk()
              if not part.is_multipart()}
    assert bodies["text/plain"].replace("\r\n", "\n") == expected_text.replace("\r\n", "\n")
    if html:
        assert bodies["text/html"].replace("\r\n", "\n") == expected_html
    else:
        assert "text/html" not in bodies


@pytest.mark.parametrize("kind", ["welcome", "password_reset", "registration_attempt"])
def test_account_emails_parse_back_with_both_parts(kind, django_user_model):
    from notifications.models import OutgoingEmail
    from notifications.transactional import single_message

    user = django_user_model.objects.create_user("zoë", "zoe@example.com", "x",
                                                 first_name="Zoë")
    row = OutgoingEmail.objects.create(lane="transactional", kind=kind, user=user,
                                       to_email=user.email)
    parsed = _parse(single_message(row).message(policy=email.policy.SMTP).as_bytes())

    assert parsed["To"] == "zoe@example.com" and not parsed.defects
    assert {part.get_content_type() for part in parsed.walk() if not part.is_multipart()} == {
        "text/plain", "text/html"}
