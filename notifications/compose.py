"""A notification as each recipient receives it.

Personal fields in its subject and bodies are checked when it is saved and filled in per
recipient when it is sent:

    Hello {{ first_name|default:"there" }}, your account is {{ username }}.

Only the four fields and the `default` filter with a quoted fallback are accepted. Saving
refuses anything else — a tag, another filter, a field as the fallback, an attribute
lookup, an unknown name, an unclosed `{{` — with the construct and its line, and renders
the result for a sample recipient, so a saved notification cannot fail when sent. The HTML
body is sanitised (Ammonia) at save and again once a recipient's values are in it.

`BulkMessage` then writes each recipient's message with an unsubscribe footer and the
headers mailbox providers expect of bulk mail (List-Unsubscribe with one-click POST,
Message-ID, Date, Feedback-ID), as bytes ready for SMTP. Templates and every header that is
the same for all recipients are prepared once per batch; per recipient only the fields, the
signed link, Message-ID and Date are made. The MIME structure is written here, with the
standard library's header folding and quoted-printable encoder, so no email-package tree is
built and serialised per recipient; an address that needs more than ASCII gets a Django
message instead.
"""

from __future__ import annotations

import binascii
import email.policy
import uuid
from dataclasses import dataclass
from email.utils import formatdate, parseaddr
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.template import Context, Engine, Library, TemplateSyntaxError
from django.template.base import TextNode, VariableNode
from django.template.defaultfilters import default as default_filter
from django.utils.html import escape
from django.utils.text import slugify

from notifications.models import Notification, Topic, sanitise_html
from notifications.recipients import PREVIEW_TOKEN, UnsubscribeLinks

FIELDS = ("first_name", "last_name", "username", "email")
ALLOWED = ", ".join("{{ " + field + " }}" for field in FIELDS)
FALLBACK_EXAMPLE = '{{ first_name|default:"there" }}'

# The one library the engine loads (Engine(builtins=[this module])): the `default` filter.
register = Library()
register.filter("default", default_filter)


class FieldsEngine(Engine):
    """An engine without Django's built-in tags and filters: only this module's library."""

    default_builtins = []


@lru_cache(maxsize=1)
def engine() -> Engine:
    # debug=True keeps each token's position, so errors can say where they are.
    return FieldsEngine(debug=True, builtins=[__name__], libraries={})


@dataclass(frozen=True)
class Recipient:
    email: str
    first_name: str = ""
    last_name: str = ""
    username: str = ""

    def context(self) -> dict:
        return {"first_name": self.first_name, "last_name": self.last_name,
                "username": self.username, "email": self.email}


SAMPLES = (Recipient(email="ada@example.com", first_name="Ada", last_name="Lovelace",
                     username="ada"),
           Recipient(email="someone@example.com"))  # empty fields: the fallbacks are used


def _line(source: str, start: int) -> int:
    return source.count("\n", 0, start) + 1


def _refuse(label: str, source: str, start: int, construct: str, why: str):
    raise ValidationError(
        f"Line {_line(source, start)} of the {label}: “{construct.strip()}” — {why}",
        code="template")


def _syntax_reason(message: str) -> str:
    """Django's wording of a template syntax error, said for someone writing an email."""
    if message.startswith("Invalid filter:"):
        name = message.partition(":")[2].strip().strip("'")
        return f"there is no filter “{name}”; only default is available, e.g. {FALLBACK_EXAMPLE}."
    if message.startswith("Invalid block tag") or "block tag" in message:
        return f"tags ({{% … %}}) are not available in emails; use {ALLOWED}."
    if "Could not parse" in message or "Empty variable tag" in message:
        return f"this cannot be read as a personal field; write it like {FALLBACK_EXAMPLE}."
    if "requires" in message and "arguments" in message:
        return f"default needs a quoted fallback, e.g. {FALLBACK_EXAMPLE}."
    return "this is not a personal field " + f"({message.rstrip('.')}); use {ALLOWED}."


def _check_variables(template, source: str, label: str) -> None:
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        start, end = node.token.position
        construct = source[start:end]
        expression = node.filter_expression
        lookups = getattr(expression.var, "lookups", None)
        if lookups is None or len(lookups) != 1 or lookups[0] not in FIELDS:
            _refuse(label, source, start, construct,
                    f"there is no personal field “{expression.var}”; use {ALLOWED}.")
        for _function, arguments in expression.filters:
            for is_variable, argument in arguments:
                if is_variable:
                    _refuse(label, source, start, construct,
                            f"the fallback “{argument}” must be quoted text, "
                            f"e.g. {FALLBACK_EXAMPLE}.")


def compile_template(source: str, *, label: str = "text"):
    """`source` compiled and checked, or ValidationError naming the construct and its line."""
    try:
        template = engine().from_string(source or "")
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        start = info.get("start", 0)
        construct = info.get("during") or source[start:start + 40]
        _refuse(label, source, start, construct, _syntax_reason(str(exc)))
    for node in template.nodelist.get_nodes_by_type(TextNode):
        for opening in ("{{", "{%", "{#"):
            if opening in node.s:
                start = node.token.position[0] + node.s.index(opening)
                _refuse(label, source, start, source[start:start + 30].splitlines()[0],
                        f"“{opening}” is not closed.")
    _check_variables(template, source, label)
    for sample in SAMPLES:  # what passed the checks above must also render
        try:
            template.render(Context(sample.context(), autoescape=label.startswith("HTML")))
        except Exception as exc:  # noqa: BLE001 - any failure here is the author's to fix
            raise ValidationError(f"The {label} could not be filled in for a sample "
                                  f"recipient: {exc}", code="template") from exc
    return template


def has_fields(source: str) -> bool:
    return "{{" in (source or "") or "{%" in (source or "")


class CompiledMessage:
    """A notification's subject, text and HTML compiled once; `render` per recipient.
    Parts without fields are kept as they are and cost nothing per recipient."""

    LABELS = {"subject": "subject", "text": "text body", "html": "HTML body"}

    def __init__(self, *, subject: str, text: str, html: str):
        self.parts = {}
        for name, source in (("subject", subject), ("text", text), ("html", html)):
            self.parts[name] = compile_template(source, label=self.LABELS[name]) \
                if has_fields(source) else source

    @property
    def personal(self) -> bool:
        return any(not isinstance(part, str) for part in self.parts.values())

    def render(self, recipient: Recipient) -> tuple[str, str, str]:
        """(subject, text, html) for `recipient`; the subject folded onto one line."""
        values = recipient.context()
        out = []
        for name in ("subject", "text", "html"):
            part = self.parts[name]
            if not isinstance(part, str):
                part = part.render(Context(values, autoescape=name == "html"))
                if name == "html":
                    part = sanitise_html(part)
            out.append(part)
        return " ".join(out[0].split()), out[1], out[2]


class CannotCompose(Exception):
    """The email cannot be made (its user is gone, its notification deleted): it fails
    with this reason instead of being sent."""




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


