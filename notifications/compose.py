"""A bulk message as one recipient receives it: personal fields filled in, an unsubscribe
footer, and the headers mailbox providers expect of bulk mail (List-Unsubscribe with one-click
POST, Message-ID, Date, Feedback-ID), as bytes ready for SMTP.

The templates and every header that is the same for all recipients are prepared once per
batch; per recipient only the fields, the signed link, Message-ID and Date are made. The MIME
is written here as text, so no email-package tree is built and serialised per recipient; an
address that needs more than ASCII gets a Django message instead.
"""

from __future__ import annotations

import binascii
import email.policy
import uuid
from dataclasses import dataclass
from email.utils import formatdate, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.utils.html import escape
from django.utils.text import slugify

from notifications.models import Notification, Topic
from notifications.personalise import CompiledMessage, Recipient
from notifications.preferences import PREVIEW_TOKEN, UnsubscribeLinks

CRLF = "\r\n"
MAX_LINE = 990


@dataclass(frozen=True)
class Outgoing:
    """One recipient's message: `payload` bytes for a raw SMTP send, or (for an address the
    fast path cannot write) a Django message; and its Message-ID."""

    message_id: str
    payload: bytes | None = None
    message: EmailMultiAlternatives | None = None


def _fold(name: str, value: str) -> str:
    """`Name: value` + CRLF; plain ASCII as it is, anything else encoded and folded."""
    if value.isascii() and len(value) + len(name) < MAX_LINE and "\n" not in value:
        return f"{name}: {value}{CRLF}"
    policy = email.policy.SMTP
    return policy.header_factory(name, value).fold(policy=policy)


def _part(content_type: str, text: str) -> str:
    """A MIME part: 7bit when the text allows it, else quoted-printable (binascii, in C)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() and max(map(len, text.split("\n")), default=0) <= MAX_LINE:
        encoding, body = "7bit", text
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(text.encode(), istext=True).decode("ascii")
    body = body.replace("\n", CRLF)
    return (f'Content-Type: {content_type}; charset="utf-8"{CRLF}'
            f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}{CRLF}")


def feedback_id(notification: Notification) -> str:
    """Feedback-ID (campaign:customer:type:sender), one per notification, so complaint
    reports from mailbox providers can be traced to it."""
    sender = slugify(settings.SITE_NAME) or "backoffice"
    return f"n{notification.pk}:{notification.topic}:bulk:{sender}"


class BulkMessage:
    """A notification prepared for many recipients (one instance per batch)."""

    def __init__(self, notification: Notification):
        self.notification = notification
        self.compiled = CompiledMessage(subject=notification.subject,
                                        text=notification.text_body,
                                        html=notification.html_body)
        self.topic_label = Topic(notification.topic).label
        self.from_email = settings.DEFAULT_FROM_EMAIL
        self.domain = DNS_NAME.get_fqdn()
        list_domain = parseaddr(self.from_email)[1].rpartition("@")[2] or self.domain
        self.static_headers = {
            "List-Id": f"{self.topic_label} <{notification.topic}.{list_domain}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Feedback-ID": feedback_id(notification),
        }
        self.head = _fold("From", self.from_email) + f"MIME-Version: 1.0{CRLF}" + "".join(
            _fold(name, value) for name, value in self.static_headers.items())
        self.boundary = f"=_bo_{uuid.uuid4().hex}"
        self.has_html = bool(notification.html_body.strip())
        self.links = UnsubscribeLinks()
        topic = self.topic_label.lower()
        self.text_footer = f"\n\n--\nYou receive this as a subscriber to {topic}. Unsubscribe: "
        self.html_footer = ('\n<hr><p style="font-size:12px;color:#666">You receive this as a '
                            f'subscriber to {escape(topic)}. <a href="')

    def parts(self, recipient: Recipient, user_id: int | None, *,
              preview: bool = False) -> tuple[str, str, str, str]:
        """(subject, text, html, token) as `recipient` sees them, footer included. A
        `preview` gets a placeholder link that unsubscribes nobody."""
        subject, text, html = self.compiled.render(recipient)
        if preview:
            token = PREVIEW_TOKEN
        else:
            token = self.links.token(email=recipient.email, user_id=user_id,
                                     topic=self.notification.topic)
        url = self.links.url(token)
        text = f"{text.rstrip()}{self.text_footer}{url}\n"
        if self.has_html:
            html = f'{html}{self.html_footer}{escape(url)}">Unsubscribe</a></p>\n'
        return subject, text, html, token

    def headers(self, token: str, message_id: str) -> dict[str, str]:
        """The per-recipient bulk headers (To and Subject aside)."""
        return {
            "Date": formatdate(),
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{self.links.url(token)}>, <{self.links.mailto(token)}>",
            **self.static_headers,
        }

    def outgoing(self, recipient: Recipient, user_id: int | None = None, *,
                 raw: bool = True) -> Outgoing:
        """The message for `recipient`: bytes when `raw` (an SMTP connection) allows, else a
        Django message for the backend to render."""
        subject, text, html, token = self.parts(recipient, user_id)
        message_id = make_msgid(domain=self.domain)
        address = recipient.email
        if not raw or not address.isascii():  # IDNA or SMTPUTF8: Django's full rendering
            message = EmailMultiAlternatives(subject=subject, body=text,
                                             from_email=self.from_email, to=[address],
                                             headers=self.headers(token, message_id))
            if self.has_html:
                message.attach_alternative(html, "text/html")
            return Outgoing(message_id, message=message)
        url, mailto = self.links.url(token), self.links.mailto(token)
        head = (f"{self.head}To: {address}{CRLF}{_fold('Subject', subject)}"
                f"Date: {formatdate()}{CRLF}Message-ID: {message_id}{CRLF}"
                f"List-Unsubscribe: <{url}>,{CRLF} <{mailto}>{CRLF}")
        if self.has_html:
            boundary = self.boundary
            body = (f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}'
                    f"--{boundary}{CRLF}{_part('text/plain', text)}"
                    f"--{boundary}{CRLF}{_part('text/html', html)}"
                    f"--{boundary}--{CRLF}")
        else:
            body = _part("text/plain", text)
        return Outgoing(message_id, payload=(head + body).encode("ascii"))
