"""Sending email over one reused connection, with each failure classified.

Shared by the transactional emails here and by bulk notifications: open a `Mailer`, call
`send()` per message, read the `SendOutcome`. Transient failures (4xx replies, dropped
connections, timeouts, a server that is not answering) are worth retrying; permanent ones
(5xx replies, a refused recipient, an address that cannot be encoded) are not.
"""

from __future__ import annotations

import contextlib
import email.policy
import logging
import re
import smtplib
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache

from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME

from notifications.dkim_signing import dkim_enabled, dkim_sign

logger = logging.getLogger(__name__)

SENT, TRANSIENT, PERMANENT = "sent", "transient", "permanent"

# A bare ASCII address that needs no quoting in MAIL FROM / RCPT TO.
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


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


def _by_code(code: int | None, error: str) -> SendOutcome:
    if code is not None and 400 <= code < 500:
        return SendOutcome(TRANSIENT, code, error)
    return SendOutcome(PERMANENT, code, error)


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def classify(exc: BaseException) -> SendOutcome:
    """Map an exception raised while sending to a transient or permanent outcome."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # {recipient: (code, message)}; one recipient per message here.
        code, message = next(iter(exc.recipients.values()), (None, b"recipient refused"))
        return _by_code(code, f"recipient refused: {code} {_text(message)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendOutcome(TRANSIENT, None, f"server disconnected: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, (TimeoutError, ConnectionError, OSError)):
        return SendOutcome(TRANSIENT, None, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, (ValueError, UnicodeError, smtplib.SMTPException)):
        return SendOutcome(PERMANENT, None, f"{type(exc).__name__}: {exc}")
    return SendOutcome(PERMANENT, None, f"{type(exc).__name__}: {exc}")


class Mailer:
    """One backend connection for many messages; reopened after it drops.

        with Mailer() as mailer:
            outcome = mailer.send(message)
    """

    def __init__(self, connection=None):
        self.connection = connection or get_connection(fail_silently=False)
        self._open = False

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

    def send(self, message: EmailMessage) -> SendOutcome:
        """Send one message; never raises for delivery problems, returns the outcome.
        Over SMTP with DKIM configured, the message is rendered here and signed."""
        message_id = message.extra_headers.setdefault(
            "Message-ID", make_msgid(domain=DNS_NAME.get_fqdn())
        )
        if self.sends_raw and dkim_enabled():
            return self._attempt(lambda: self._send_signed(message), message_id)
        return self._attempt(lambda: self.connection.send_messages([message]), message_id)

    def _send_signed(self, message: EmailMessage) -> int:
        recipients = message.recipients()
        if not recipients:
            return 0
        backend = self.connection
        payload = dkim_sign(message.message(policy=email.policy.SMTP).as_bytes())
        backend.connection.sendmail(backend.prep_address(message.from_email),
                                    [backend.prep_address(address) for address in recipients],
                                    payload)
        return 1

    @property
    def sends_raw(self) -> bool:
        """True when the backend is SMTP, so pre-rendered bytes can go out as they are."""
        return isinstance(self.connection, SmtpBackend)

    def send_raw(self, *, from_email: str, recipient: str, payload: bytes,
                 message_id: str) -> SendOutcome:
        """Send an already rendered message (bytes) to one recipient over the connection.

        Bulk sending renders a notification once per batch instead of once per recipient;
        MIME rendering costs more than the SMTP exchange itself.
        """
        payload = dkim_sign(payload)

        def sendmail():
            smtp = self.connection.connection
            sender = _envelope_address(from_email)
            if sender and PLAIN_ADDRESS.fullmatch(recipient):
                _send_one(smtp, sender, recipient, payload)
            else:
                smtp.sendmail(from_email, [recipient], payload)
            return 1

        return self._attempt(sendmail, message_id)

    def _attempt(self, send, message_id: str) -> SendOutcome:
        try:
            if not self._open:
                self.connection.open()
                self._open = True
            sent = send()
        except Exception as exc:
            outcome = classify(exc)
            if outcome.transient and outcome.smtp_code in (None, 421):
                self.close()  # the connection is gone or unusable: start afresh next time
            return outcome
        if not sent:
            return SendOutcome(PERMANENT, None, "the mail backend accepted no message")
        return SendOutcome(SENT, message_id=message_id)


@lru_cache(maxsize=16)
def _envelope_address(from_email: str) -> str | None:
    """The bare address of a From value ("Name <a@b>" -> "a@b"), or None if it needs quoting."""
    address = parseaddr(from_email)[1]
    return address if PLAIN_ADDRESS.fullmatch(address) else None


def _send_one(smtp: smtplib.SMTP, sender: str, recipient: str, payload: bytes) -> None:
    """`smtp.sendmail(sender, [recipient], payload)` for addresses already known to be bare.

    smtplib re-parses both addresses with email.utils on every message, which cost a tenth
    of a bulk worker's CPU; the replies are handled and raised exactly as sendmail does.
    """
    smtp.ehlo_or_helo_if_needed()
    size = f" SIZE={len(payload)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    code, reply = smtp.docmd("mail", f"FROM:<{sender}>{size}")
    if code != 250:
        _abort(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = smtp.docmd("rcpt", f"TO:<{recipient}>")
    if code not in (250, 251):
        _abort(smtp, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = smtp.data(payload)
    if code != 250:
        _abort(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _abort(smtp: smtplib.SMTP, code: int) -> None:
    """Leave the failed transaction as sendmail does: close on 421, else RSET."""
    if code == 421:
        smtp.close()
        return
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        smtp.rset()
