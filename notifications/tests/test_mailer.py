"""Classification of SMTP failures and the Mailer against a real aiosmtpd server."""

import smtplib

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection

from notifications.mailer import PERMANENT, SENT, TRANSIENT, Mailer, _envelope_address, classify


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"mailbox busy")}), TRANSIENT, 450),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}), PERMANENT, 550),
        (smtplib.SMTPServerDisconnected("gone"), TRANSIENT, None),
        (smtplib.SMTPDataError(451, b"local error"), TRANSIENT, 451),
        (smtplib.SMTPDataError(554, b"rejected"), PERMANENT, 554),
        (smtplib.SMTPSenderRefused(553, b"bad sender", "f@x"), PERMANENT, 553),
        (smtplib.SMTPConnectError(421, b"too busy"), TRANSIENT, 421),
        (TimeoutError("timed out"), TRANSIENT, None),
        (ConnectionRefusedError(111, "refused"), TRANSIENT, None),
        (ValueError("Invalid address"), PERMANENT, None),
    ],
)
def test_classify(exc, status, code):
    outcome = classify(exc)
    assert (outcome.status, outcome.smtp_code) == (status, code)
    assert outcome.error


def message(to):
    mail = EmailMultiAlternatives("Hi", "text part", "from@example.com", [to])
    mail.attach_alternative("<p>html part</p>", "text/html")
    return mail


def smtp_connection(sink):
    return get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1",
                          port=sink.port, timeout=5, fail_silently=False)


def test_one_connection_many_messages_each_with_its_outcome(smtp):
    smtp.fail_rule = lambda rcpt, attempt: {
        "later@example.com": "451 4.2.0 try later", "gone@example.com": "550 5.1.1 unknown",
    }.get(rcpt)
    connection = smtp_connection(smtp)
    opened = []
    real_open = connection.open
    connection.open = lambda: opened.append(real_open()) or opened[-1]

    with Mailer(connection) as mailer:
        results = {to: mailer.send(message(to)) for to in
                   ("a@example.com", "later@example.com", "gone@example.com", "b@example.com")}

    assert {to: (r.status, r.smtp_code) for to, r in results.items()} == {
        "a@example.com": (SENT, None), "later@example.com": (TRANSIENT, 451),
        "gone@example.com": (PERMANENT, 550), "b@example.com": (SENT, None),
    }
    assert opened.count(True) == 1  # the refused recipients did not cost a reconnect
    received = smtp.wait_for(2)
    assert [m["To"] for m in received] == ["a@example.com", "b@example.com"]
    assert results["a@example.com"].message_id == received[0]["Message-ID"]


def test_server_not_answering_is_transient(smtp):
    from tests.processes import free_port

    connection = get_connection("django.core.mail.backends.smtp.EmailBackend",
                                host="127.0.0.1", port=free_port(), timeout=2)
    with Mailer(connection) as mailer:
        outcome = mailer.send(message("a@example.com"))
    assert outcome.status == TRANSIENT and outcome.smtp_code is None


def test_send_raw_sends_the_bytes_with_bare_envelope_addresses_and_classifies_refusals(smtp):
    smtp.fail_rule = lambda rcpt, attempt: {
        "later@example.com": "451 4.2.0 try later", "gone@example.com": "550 5.1.1 unknown",
    }.get(rcpt)
    payload = message("placeholder@example.com").message().as_bytes()
    with Mailer(smtp_connection(smtp)) as mailer:
        results = {to: mailer.send_raw(from_email="Backoffice <news@example.com>", recipient=to,
                                       payload=payload, message_id=f"<{n}@example.com>")
                   for n, to in enumerate(["a@example.com", "later@example.com",
                                           "gone@example.com", '"odd name"@example.com',
                                           "b@example.com"])}

    assert {to: (r.status, r.smtp_code) for to, r in results.items()} == {
        "a@example.com": (SENT, None), "later@example.com": (TRANSIENT, 451),
        "gone@example.com": (PERMANENT, 550), '"odd name"@example.com': (SENT, None),
        "b@example.com": (SENT, None),
    }
    received = smtp.wait_for(3)
    # A quoted local part is not "bare": it goes through smtplib's own quoting instead.
    assert [m["X-Envelope-To"] for m in received] == [
        "a@example.com", '"odd name"@example.com', "b@example.com"]
    assert {m["X-Envelope-From"] for m in received} == {"news@example.com"}
    assert all(m["Subject"] == "Hi" and m.get_payload(0).get_payload().strip() == "text part"
               for m in received)


def test_envelope_address_needs_a_bare_address():
    assert _envelope_address("Backoffice <news@example.com>") == "news@example.com"
    assert _envelope_address("news@example.com") == "news@example.com"
    assert _envelope_address('"odd name"@example.com') is None  # needs smtplib's quoting
    assert _envelope_address("not an address") is None
