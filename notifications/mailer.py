"""Sending email over one reused connection, with each delivery failure classified.

Every email goes through it: open a `Mailer`, call
`send()` per message (or `send_raw()` with a message already rendered to bytes), read the
`SendOutcome`. Transient failures (4xx replies, dropped connections, timeouts, a server that
is not answering) are worth retrying; permanent ones (5xx replies, a refused recipient, an
address that cannot go on the envelope) are not. Any other exception is a bug, not a
delivery problem, and is raised to the caller.
"""

from __future__ import annotations

import email.policy
import logging
import re
import smtplib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME

logger = logging.getLogger(__name__)

SENT, TRANSIENT, PERMANENT = "sent", "transient", "permanent"

# Backends whose whole delivery is `smtplib.SMTP.sendmail` over their `connection`, so bytes
# rendered here may go out through that connection directly. A subclass may sign, log or
# rewrite messages in `send_messages`, so it is not raw-safe unless listed here knowingly.
RAW_SAFE_BACKENDS = frozenset({SmtpBackend})

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


class InvalidAddress(ValueError):
    """An address that cannot go on the SMTP envelope (the backend's `prep_address`
    refused it: unparsable, several addresses, CR/LF, a non-ASCII local part, a domain
    that IDNA cannot encode)."""


@dataclass(frozen=True)
class SendOutcome:
    status: str  # SENT, TRANSIENT or PERMANENT
    smtp_code: int | None = None
    error: str = ""
    message_id: str = ""

    @property
    def ok(self) -> bool:
        return self.status == SENT

    @property
    def transient(self) -> bool:
        return self.status == TRANSIENT


# What a delivery can fail with; everything else raises out of the Mailer.
# (smtplib.SMTPException is itself an OSError; listed for the reader.)
DELIVERY_ERRORS = (smtplib.SMTPException, OSError, InvalidAddress)


def _by_code(code: int | None, error: str) -> SendOutcome:
    if code is not None and 400 <= code < 500:
        return SendOutcome(TRANSIENT, code, error)
    return SendOutcome(PERMANENT, code, error)


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def classify(exc: BaseException) -> SendOutcome:
    """The outcome of a delivery error; any other exception is raised again.

    Delivery errors, and how they count:
    - `smtplib.SMTPRecipientsRefused`, `SMTPResponseException` and its subclasses (sender
      refused, DATA refused, connect and HELO errors, authentication): by the reply code,
      4xx transient, anything else permanent;
    - `smtplib.SMTPServerDisconnected`: transient;
    - any other `smtplib.SMTPException` (the server lacks a needed extension such as
      SMTPUTF8 or AUTH): permanent;
    - `OSError` (socket errors, `TimeoutError`, `ConnectionError`, DNS and TLS failures):
      transient;
    - `InvalidAddress`, raised by the Mailer when the backend's `prep_address` refuses an
      envelope address (a `ValueError`, or the `UnicodeError` of an IDNA-unencodable
      domain): permanent.
    A `TypeError`, `KeyError`, a `ValueError` from anywhere else and so on are bugs: a
    recipient must not be marked failed for them.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # {recipient: (code, message)}; one recipient per message here.
        code, message = next(iter(exc.recipients.values()), (None, b"recipient refused"))
        return _by_code(code, f"recipient refused: {code} {_text(message)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendOutcome(TRANSIENT, None, f"server disconnected: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPException):
        return SendOutcome(PERMANENT, None, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return SendOutcome(TRANSIENT, None, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, InvalidAddress):
        return SendOutcome(PERMANENT, None, str(exc))
    raise exc


def _exchange(smtp: smtplib.SMTP, sender: str, recipient: str, payload: bytes) -> None:
    """`smtplib.SMTP.sendmail` for one bare (dot-atom) sender and recipient, through its
    public commands, with the same errors. Written out because `sendmail` parses both
    addresses again on every message (`quoteaddr`), which costs a bulk send more than its
    SMTP round trips; a bare address needs only its angle brackets."""
    smtp.ehlo_or_helo_if_needed()
    code, reply = smtp.docmd("mail", f"FROM:<{sender}>")
    if code != 250:
        _reset(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = smtp.docmd("rcpt", f"TO:<{recipient}>")
    if code not in (250, 251):
        _reset(smtp, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = smtp.data(payload)
    if code != 250:
        _reset(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _reset(smtp: smtplib.SMTP, code: int) -> None:
    """What `sendmail` does after a refusal: close on 421, else RSET for the next message."""
    if code == 421:
        smtp.close()
    else:
        smtp.rset()


class Mailer:
    """One backend connection for many messages; reopened after it drops.

        with Mailer() as mailer:
            outcome = mailer.send(message)
    """

    def __init__(self, connection=None):
        self.connection = connection or get_connection(fail_silently=False)
        self._open = False
        self._prepare = None  # the backend's prep_address, with the last results kept

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._open:
            try:
                self.connection.close()
            except Exception:  # closing a broken connection must not mask the outcome
                logger.debug("closing the SMTP connection failed", exc_info=True)
            self._open = False

    @property
    def sends_raw(self) -> bool:
        """True when the backend is raw-safe (see RAW_SAFE_BACKENDS), so bytes rendered here
        may go out over its connection; any other backend gets `send_messages`."""
        return type(self.connection) in RAW_SAFE_BACKENDS

    def send(self, message: EmailMessage) -> SendOutcome:
        """Send one message; returns the outcome of a delivery failure, raises on a bug.
        Over a raw-safe backend with DKIM configured, the message is rendered here and
        signed; otherwise the backend's `send_messages` sends it."""
        message_id = message.extra_headers.setdefault(
            "Message-ID", make_msgid(domain=DNS_NAME.get_fqdn())
        )
        if self.sends_raw and dkim_enabled():
            return self._attempt(lambda: self._sendmail(
                message.from_email, message.recipients(),
                dkim_sign(message.message(policy=email.policy.SMTP).as_bytes())), message_id)

        def send_messages():
            self._check_addresses([message.from_email, *message.recipients()])
            return self.connection.send_messages([message])

        return self._attempt(send_messages, message_id)

    def send_raw(self, *, from_email: str, recipient: str, payload: bytes,
                 message_id: str) -> SendOutcome:
        """Send an already rendered message (bytes) to one recipient over the connection.

        Only for a raw-safe backend (`sends_raw`): bulk sending renders a notification's
        templates once per batch and writes each recipient's MIME itself.
        """
        if not self.sends_raw:
            raise TypeError(f"{type(self.connection).__name__} is not a raw-safe backend; "
                            "send it a Django message with send()")
        payload = dkim_sign(payload)
        return self._attempt(lambda: self._sendmail(from_email, [recipient], payload),
                             message_id)

    def _sendmail(self, from_email: str, recipients: list[str], payload: bytes) -> int:
        """What the SMTP backend's `send_messages` does for one message, with bytes:
        envelope addresses prepared by the backend (`prep_address`), then `sendmail` on the
        `smtplib.SMTP` connection its `open()` made. A Mailer belongs to one task, so no
        other thread uses that connection meanwhile."""
        if not recipients:
            return 0
        sender = self._envelope_address(from_email)
        envelope = [self._envelope_address(address) for address in recipients]
        smtp = self.connection.connection
        if len(envelope) == 1 and DOT_ATOM_ADDRESS.fullmatch(sender) \
                and DOT_ATOM_ADDRESS.fullmatch(envelope[0]):
            _exchange(smtp, sender, envelope[0], payload)
        else:
            smtp.sendmail(sender, envelope, payload)
        return 1

    def _envelope_address(self, address: str) -> str:
        """`address` as the backend puts it on the envelope (`prep_address`), or
        InvalidAddress. The sender recurs on every message, so prepared ones are kept.

        A bare dot-atom address with an ASCII domain is what Django's `prep_address`
        returns unchanged; it skips the header parser, which costs more per bulk recipient
        than the SMTP exchange. Only for the raw-safe backends, whose `prep_address` is
        Django's own."""
        if self.sends_raw and DOT_ATOM_ADDRESS.fullmatch(address):
            return address
        if self._prepare is None:
            self._prepare = lru_cache(maxsize=256)(self.connection.prep_address)
        try:
            return self._prepare(address)
        except ValueError as exc:  # UnicodeError (IDNA) is a ValueError too
            raise InvalidAddress(str(exc) or f"Invalid address {address!r}") from exc

    def _check_addresses(self, addresses: list[str]) -> None:
        """Refuse, as InvalidAddress, what the backend's `prep_address` would refuse while
        sending; a backend without one checks addresses its own way."""
        if hasattr(self.connection, "prep_address"):
            for address in addresses:
                self._envelope_address(address)

    def _attempt(self, send, message_id: str) -> SendOutcome:
        try:
            if not self._open:
                self.connection.open()
                self._open = True
            sent = send()
        except DELIVERY_ERRORS as exc:
            outcome = classify(exc)
            if outcome.transient and outcome.smtp_code in (None, 421):
                self.close()  # the connection is gone or unusable: start afresh next time
            return outcome
        if not sent:
            return SendOutcome(PERMANENT, None, "the mail backend accepted no message")
        return SendOutcome(SENT, message_id=message_id)


# --- DKIM -------------------------------------------------------------------------------

# Headers a receiver shows or acts on; signing them makes them tamper-evident.
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
                  b"content-type", b"list-unsubscribe", b"list-unsubscribe-post",
                  b"feedback-id", b"reply-to")


@lru_cache(maxsize=4)
def _key(value: str) -> bytes:
    """The PEM key itself, or read from a file when the setting is a path."""
    if "-----BEGIN" in value:
        return value.replace("\\n", "\n").encode()
    return Path(value).expanduser().read_bytes()


def dkim_enabled() -> bool:
    return bool(settings.DKIM_PRIVATE_KEY and settings.DKIM_SELECTOR and settings.DKIM_DOMAIN)


def dkim_sign(payload: bytes) -> bytes:
    """`payload` (a whole message, CRLF line ends) with a DKIM-Signature header in front;
    unchanged when DKIM is not configured."""
    if not dkim_enabled():
        return payload
    present = {line.split(b":", 1)[0].strip().lower()
               for line in payload.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
               if line and line[:1] not in (b" ", b"\t")}
    signature = dkim.sign(
        payload, settings.DKIM_SELECTOR.encode(), settings.DKIM_DOMAIN.encode(),
        _key(settings.DKIM_PRIVATE_KEY), canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name for name in SIGNED_HEADERS if name in present],
    )
    return signature + payload
