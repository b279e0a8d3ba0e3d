"""The bytes written per recipient equal what Django's email package makes of the same
message, and carry the bulk headers."""

import email
import email.policy

import pytest

from notifications.compose import BulkMessage
from notifications.models import Notification
from notifications.templates import Recipient

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
