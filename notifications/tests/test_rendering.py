"""A notification rendered once and re-addressed per recipient equals a full rendering."""

import email
import email.policy

import pytest

from notifications.bulk import RenderedNotification, _message
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_readdressed_bytes_match_a_full_rendering():
    notification = Notification.objects.create(
        subject="Ünïcode subject, long enough to be folded by the email package when encoded",
        html_body="<p>Grüße <b>everyone</b></p>")
    rendered = RenderedNotification(notification)

    payload, message_id = rendered.payload("someone@example.com")

    expected = _message(notification, "someone@example.com")
    expected.extra_headers["Message-ID"] = message_id
    full = expected.message(policy=email.policy.SMTP).as_bytes()
    ours, theirs = (email.message_from_bytes(data, policy=email.policy.default)
                    for data in (payload, full))
    for header in ("Subject", "From", "To", "Message-ID", "MIME-Version", "Content-Type"):
        assert ours[header].split(";")[0] == theirs[header].split(";")[0], header
    assert ours["To"] == "someone@example.com" and ours["Message-ID"] == message_id
    assert [(part.get_content_type(), part.get_content()) for part in ours.iter_parts()] == [
        (part.get_content_type(), part.get_content()) for part in theirs.iter_parts()]
    assert b"\r\n" in payload and b"\n" not in payload.replace(b"\r\n", b"")  # CRLF only


def test_non_ascii_addresses_fall_back_to_a_full_rendering():
    notification = Notification.objects.create(subject="S", text_body="t")
    assert RenderedNotification(notification).payload("jürgen@exämple.com") is None
