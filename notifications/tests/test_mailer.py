"""Classification of SMTP failures and the Mailer against a real aiosmtpd server."""

import smtplib

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMultiAlternatives, get_connection

from notifications.mailer import (
    DOT_ATOM_ADDRESS,
    PERMANENT,
    SENT,
    TRANSIENT,
    InvalidAddress,
    Mailer,
    classify,
)
from notifications.tests.backends import MARK_HEADER, BrokenBackend, MarkingBackend
from tests.processes import SmtpSink, free_port

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


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
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), PERMANENT, 535),
        (smtplib.SMTPNotSupportedError("SMTPUTF8 not supported"), PERMANENT, None),
        (TimeoutError("timed out"), TRANSIENT, None),
        (ConnectionRefusedError(111, "refused"), TRANSIENT, None),
        (OSError(101, "Network is unreachable"), TRANSIENT, None),
        (InvalidAddress("Invalid address 'a\\nb@x'"), PERMANENT, None),
    ],
)
def test_classify(exc, status, code):
    outcome = classify(exc)
    assert (outcome.status, outcome.smtp_code) == (status, code)
    assert outcome.error


@pytest.mark.parametrize("exc", [TypeError("bad call"), AttributeError("typo"), KeyError("k"),
                                 ValueError("not from an address"), UnicodeDecodeError(
                                     "utf-8", b"\xff", 0, 1, "invalid start byte")])
def test_classify_raises_what_is_not_a_delivery_error(exc):
    with pytest.raises(type(exc)):
        classify(exc)


def message(to, from_email="from@example.com"):
    mail = EmailMultiAlternatives("Hi", "text part", from_email, [to])
    mail.attach_alternative("<p>html part</p>", "text/html")
    return mail


def smtp_connection(sink, backend=SMTP_BACKEND):
    return get_connection(backend, host="127.0.0.1", port=sink.port, timeout=5,
                          fail_silently=False)


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
    connection = get_connection(SMTP_BACKEND, host="127.0.0.1", port=free_port(), timeout=2)
    with Mailer(connection) as mailer:
        outcome = mailer.send(message("a@example.com"))
    assert outcome.status == TRANSIENT and outcome.smtp_code is None


def test_a_server_that_goes_away_mid_session_is_transient_and_the_mailer_reconnects():
    sink = SmtpSink().start()
    payload = message("x@example.com").message().as_bytes()
    with Mailer(get_connection(SMTP_BACKEND, host="127.0.0.1", port=sink.port,
                               timeout=5)) as mailer:
        first = mailer.send_raw(from_email="news@example.com", recipient="a@example.com",
                                payload=payload, message_id="<1@example.com>")
        sink.stop()  # the server closes the open session
        gone = mailer.send_raw(from_email="news@example.com", recipient="b@example.com",
                               payload=payload, message_id="<2@example.com>")
        revived = SmtpSink()
        revived.controller = Controller(revived, hostname="127.0.0.1", port=sink.port)
        revived.start()  # the same server back, on the same port
        back = mailer.send_raw(from_email="news@example.com", recipient="c@example.com",
                               payload=payload, message_id="<3@example.com>")
    revived.stop()
    assert (first.status, gone.status, gone.smtp_code, back.status) == (
        SENT, TRANSIENT, None, SENT)
    assert [m["X-Envelope-To"] for m in sink.messages + revived.messages] == [
        "a@example.com", "c@example.com"]


def test_421_closes_the_connection_and_the_next_message_opens_a_new_one(smtp):
    smtp.fail_rule = lambda rcpt, attempt: "421 4.7.0 closing" if rcpt == "busy@example.com" \
        else None
    connection = smtp_connection(smtp)
    opened = []
    real_open = connection.open
    connection.open = lambda: opened.append(real_open()) or opened[-1]
    payload = message("x@example.com").message().as_bytes()
    with Mailer(connection) as mailer:
        outcomes = [mailer.send_raw(from_email="news@example.com", recipient=to,
                                    payload=payload, message_id=f"<{to}>")
                    for to in ("a@example.com", "busy@example.com", "b@example.com")]
    assert [(o.status, o.smtp_code) for o in outcomes] == [
        (SENT, None), (TRANSIENT, 421), (SENT, None)]
    assert opened == [True, True]


def test_send_raw_prepares_envelope_addresses_as_the_smtp_backend_and_classifies(smtp):
    smtp.fail_rule = lambda rcpt, attempt: {
        "later@example.com": "451 4.2.0 try later", "gone@example.com": "550 5.1.1 unknown",
    }.get(rcpt)
    payload = message("placeholder@example.com").message().as_bytes()
    recipients = ["a@example.com", "later@example.com", "gone@example.com",
                  '"odd name"@example.com', "Ann <ann@bücher.example>", "jörg@example.com",
                  "evil@example.com\nRCPT TO:<other@example.com>", "b@example.com"]
    with Mailer(smtp_connection(smtp)) as mailer:
        results = {to: mailer.send_raw(from_email="Backoffice <news@example.com>", recipient=to,
                                       payload=payload, message_id=f"<{n}@example.com>")
                   for n, to in enumerate(recipients)}

    assert {to: (r.status, r.smtp_code) for to, r in results.items()} == {
        "a@example.com": (SENT, None), "later@example.com": (TRANSIENT, 451),
        "gone@example.com": (PERMANENT, 550), '"odd name"@example.com': (SENT, None),
        "Ann <ann@bücher.example>": (SENT, None), "jörg@example.com": (PERMANENT, None),
        "evil@example.com\nRCPT TO:<other@example.com>": (PERMANENT, None),
        "b@example.com": (SENT, None),
    }
    assert "Invalid address" in results["jörg@example.com"].error
    received = smtp.wait_for(4)
    assert [m["X-Envelope-To"] for m in received] == [
        "a@example.com", '"odd name"@example.com', "ann@xn--bcher-kva.example",
        "b@example.com"]
    assert {m["X-Envelope-From"] for m in received} == {"news@example.com"}
    assert all(m["Subject"] == "Hi" and m.get_payload(0).get_payload().strip() == "text part"
               for m in received)


def test_only_djangos_own_smtp_backend_takes_raw_bytes(smtp):
    assert Mailer(smtp_connection(smtp)).sends_raw
    for backend in ("notifications.tests.backends.MarkingBackend",
                    "django.core.mail.backends.locmem.EmailBackend",
                    "django.core.mail.backends.console.EmailBackend"):
        mailer = Mailer(smtp_connection(smtp, backend))
        assert not mailer.sends_raw
        with pytest.raises(TypeError, match="not a raw-safe backend"):
            mailer.send_raw(from_email="news@example.com", recipient="a@example.com",
                            payload=b"Subject: x\r\n\r\nx\r\n", message_id="<1@example.com>")


def test_a_subclass_backend_sends_through_its_own_send_messages(smtp):
    MarkingBackend.given.clear()
    with Mailer(smtp_connection(smtp, "notifications.tests.backends.MarkingBackend")) as mailer:
        outcomes = [mailer.send(message(to)) for to in ("a@example.com", "jörg@example.com")]
    assert [o.status for o in outcomes] == [SENT, PERMANENT]  # its prep_address refused it
    assert [m.to for m in MarkingBackend.given] == [["a@example.com"]]
    assert [m[MARK_HEADER] for m in smtp.wait_for(1)] == ["MarkingBackend"]


def test_a_programming_error_raises_out_of_the_mailer(smtp):
    with Mailer(smtp_connection(smtp, "notifications.tests.backends.BrokenBackend")) as mailer:
        assert isinstance(mailer.connection, BrokenBackend)
        with pytest.raises(AttributeError):
            mailer.send(message("a@example.com"))
    with Mailer(smtp_connection(smtp)) as mailer, pytest.raises(TypeError):
        mailer.send_raw(from_email="news@example.com", recipient="a@example.com",
                        payload=None, message_id="<1@example.com>")
    assert smtp.messages == []



@pytest.mark.parametrize("address", [
    "a@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.com",
    "x-y_z!#$%&*/=?^`{|}~@example-host.example", "UPPER@EXAMPLE.COM", "local@localhost",
])
def test_a_bare_address_goes_on_the_envelope_as_djangos_prep_address_puts_it(address):
    backend = get_connection("django.core.mail.backends.smtp.EmailBackend")
    mailer = Mailer(backend)
    assert DOT_ATOM_ADDRESS.fullmatch(address)
    assert mailer._envelope_address(address) == backend.prep_address(address) == address


@pytest.mark.parametrize("address", [
    "Ann <ann@example.com>", '"odd name"@example.com', "a..b@example.com", ".a@example.com",
    "jörg@example.com", "a@bücher.example", "evil@example.com\nRCPT TO:<x@example.com>",
    "a@example.com ", "a@@example.com",
])
def test_anything_else_is_prepared_by_djangos_prep_address(address):
    assert not DOT_ATOM_ADDRESS.fullmatch(address)
