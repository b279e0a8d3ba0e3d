"""Every email as its recipient receives it: account emails and notices from their templates,
and a bulk message with personal fields filled in: personal fields filled in, an unsubscribe
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
import json
import uuid
from dataclasses import dataclass
from email.utils import formatdate, parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.html import escape
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from accounts.email_change import EmailChange, confirm_link, confirm_token, undo_link
from notifications.models import Notification, OutgoingEmail, Topic
from notifications.preferences import PREVIEW_TOKEN, UnsubscribeLinks
from notifications.templates import CompiledMessage, Recipient

Kind = OutgoingEmail.Kind
SUBJECTS = {
    Kind.WELCOME: "Welcome to {site}, {name}!",
    Kind.PASSWORD_RESET: "Reset your {site} password",
    Kind.EMAIL_CHANGE_CONFIRM: "Confirm your new {site} email address",
    Kind.EMAIL_CHANGE_NOTICE: "A change of your {site} email address was requested",
    Kind.EMAIL_CHANGED: "Your {site} email address was changed",
    Kind.REGISTRATION_ATTEMPT: "Someone tried to register at {site} with your address",
}
EMAIL_CHANGE_KINDS = {Kind.EMAIL_CHANGE_CONFIRM, Kind.EMAIL_CHANGE_NOTICE, Kind.EMAIL_CHANGED}


class CannotCompose(Exception):
    """The email cannot be made (its user is gone, its notification deleted): it fails
    with this reason instead of being sent."""


def single_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    """The message of a transactional row (account email, staff notice, test copy)."""
    if email.kind == Kind.ADMIN_NOTICE:
        return _message(email, email.context.get("subject", ""), email.context.get("body", ""),
                        email.context.get("html", ""))
    if email.kind == Kind.TEST_COPY:
        notification = Notification.objects.filter(
            pk=email.context.get("notification_id")).first()
        if notification is None:
            raise CannotCompose("the notification was deleted")
        user = email.user
        recipient = Recipient(email=email.to_email, first_name=getattr(user, "first_name", ""),
                              last_name=getattr(user, "last_name", ""),
                              username=user.get_username() if user else "")
        message = BulkMessage(notification).outgoing(recipient, email.user_id, raw=False).message
        message.subject = f"[TEST] {message.subject}"
        return message
    user = email.user
    if user is None or not user.is_active:
        raise CannotCompose("the user no longer exists or is inactive")
    name = user.first_name or user.get_username()
    context = {"user": user, "name": name, "site_name": settings.SITE_NAME,
               "to_email": email.to_email}
    if email.kind == Kind.PASSWORD_RESET:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        context.update(uid=uid, token=token,
                       reset_link=settings.PASSWORD_RESET_LINK.format(uid=uid, token=token),
                       valid_hours=max(1, settings.PASSWORD_RESET_TIMEOUT // 3600))
    elif email.kind in EMAIL_CHANGE_KINDS:
        context.update(_email_change_context(email))
    template = f"notifications/email/{email.kind}"
    return _message(email, SUBJECTS[email.kind].format(site=settings.SITE_NAME, name=name),
                    render_to_string(f"{template}.txt", context),
                    render_to_string(f"{template}.html", context))


def _message(email: OutgoingEmail, subject: str, text: str, html: str):
    subject = " ".join(subject.split())[:200]  # no header injection through a user's name
    message = EmailMultiAlternatives(subject=subject, body=text,
                                     from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[email.to_email])
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _email_change_context(email: OutgoingEmail) -> dict:
    # Links are signed at send time, as reset links are, so no live token sits in a row.
    user, other = email.user, email.context.get("other_email", "")
    if email.kind == Kind.EMAIL_CHANGE_CONFIRM:  # to the new address; the user has the old
        change = EmailChange(user.pk, user.email, email.to_email)
        return {"old_email": user.email, "new_email": email.to_email,
                "token": confirm_token(change), "link": confirm_link(change),
                "valid_hours": max(1, settings.EMAIL_CHANGE_TIMEOUT // 3600)}
    if email.kind == Kind.EMAIL_CHANGE_NOTICE:  # to the old address
        return {"old_email": email.to_email, "new_email": other}
    change = EmailChange(user.pk, email.to_email, other)  # changed: to the old address
    return {"old_email": email.to_email, "new_email": other, "link": undo_link(change),
            "valid_days": max(1, settings.EMAIL_CHANGE_UNDO_TIMEOUT // 86400)}

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


def _part(content_type: str, text: str, *, end: str = CRLF) -> str:
    """A MIME part: 7bit when the text allows it, else quoted-printable (binascii, in C).
    `end` closes it: the line break a multipart boundary delimiter starts with, or nothing
    for a message of one part."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() and max(map(len, text.split("\n")), default=0) <= MAX_LINE:
        encoding, body = "7bit", text
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(text.encode(), istext=True).decode("ascii")
    body = body.replace("\n", CRLF)
    return (f'Content-Type: {content_type}; charset="utf-8"{CRLF}'
            f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}{end}")


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
            body = _part("text/plain", text, end="")
        return Outgoing(message_id, payload=(head + body).encode("ascii"))


# --- Notices to staff ---------------------------------------------------------------------

MAX_PREVIOUS_CHARS = 20_000


def admin_recipients() -> list[str]:
    """The addresses of every active staff member and superuser, once each."""
    users = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True),
                                            is_active=True).exclude(email="")
    return sorted({address.lower() for address in users.values_list("email", flat=True)})


def previous_text(previous) -> str:
    """The previous step's result of a chain or chord, for the body of a notice."""
    if previous is None:
        return ""
    try:
        text = json.dumps(previous, indent=2, default=str)  # the task's own order
    except (TypeError, ValueError):
        text = repr(previous)
    return "\n\nResult of the previous step:\n" + text[:MAX_PREVIOUS_CHARS]
