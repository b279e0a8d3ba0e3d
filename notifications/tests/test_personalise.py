"""Personal fields: what the engine accepts, and one compilation per batch."""

import html as htmllib
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.template import Engine
from django.utils import timezone

from accounts.models import User
from notifications.compose import CompiledMessage, Recipient, compile_template
from notifications.models import Notification, OutgoingEmail
from notifications.sending import send_batch


@pytest.mark.parametrize("source", [
    "Hi {{ first_name }} {{ last_name }} ({{ username }}, {{ email }})",
    "Hi {{ first_name|default:'there' }}", 'Hi {{ first_name|default:"<b>you</b>" }}',
    "No fields at all", "",
])
def test_allowed_templates(source):
    compile_template(source)


@pytest.mark.parametrize("source, message", [
    ("{% load static %}", "Line 1 of the text: “{% load static %}” — tags ({% … %}) are not "
                          "available in emails"),
    ("{% include 'x.html' %}", "Line 1 of the text: “{% include 'x.html' %}” — tags"),
    ("{{ first_name|safe }}", "Line 1 of the text: “{{ first_name|safe }}” — there is no "
                              "filter “safe”; only default is available"),
    ("ok\n\n   {{ settings.SECRET_KEY }}", "Line 3 of the text: “{{ settings.SECRET_KEY }}” — "
                                            "there is no personal field “settings.SECRET_KEY”"),
    ("{{ 'literal' }}", "there is no personal field"),
    ("{{ nickname }}", "Line 1 of the text: “{{ nickname }}” — there is no personal field "
                       "“nickname”; use {{ first_name }}, {{ last_name }}"),
    ("Hi\n{{ first_name|default:nickname }}",
     "Line 2 of the text: “{{ first_name|default:nickname }}” — the fallback “nickname” must "
     'be quoted text, e.g. {{ first_name|default:"there" }}.'),
    ("{{ first_name|default:last_name }}", "the fallback “last_name” must be quoted text"),
    ("{{ first_name|default }}", "default needs a quoted fallback"),
    ("{{ first_name|default:'a'|upper }}", "there is no filter “upper”"),
    ("{% if first_name %}x{% endif %}", "tags ({% … %}) are not available in emails"),
    ("{{ first_name }", "Line 1 of the text: “{{ first_name }” — “{{” is not closed."),
    ("Hello\n{{ first_name", "Line 2 of the text: “{{ first_name” — “{{” is not closed."),
])
def test_refused_templates_name_the_construct_and_its_line(source, message):
    with pytest.raises(ValidationError) as caught:
        compile_template(source)
    assert message in caught.value.messages[0]
    assert "TemplateSyntaxError" not in caught.value.messages[0]


def test_html_is_escaped_and_text_is_not():
    compiled = CompiledMessage(subject="{{ first_name }}\n  news", text="{{ first_name }}",
                               html='<a title="{{ first_name }}">{{ first_name }}</a>')
    subject, text, html = compiled.render(Recipient(email="a@b.c", first_name='"Jo" <b>'))
    assert subject == '"Jo" <b> news' and text == '"Jo" <b>'
    # Sanitised once filled in: still escaped, as Ammonia writes it.
    assert html == ('<a title="&quot;Jo&quot; &lt;b&gt;" rel="noopener noreferrer">'
                    '"Jo" &lt;b&gt;</a>')


@pytest.mark.django_db
def test_a_batch_compiles_the_templates_once(monkeypatch):
    compilations = []
    original = Engine.from_string
    monkeypatch.setattr(Engine, "from_string",
                        lambda self, source: compilations.append(source) or original(self, source))
    for n in range(5):
        User.objects.create_user(f"p{n}", f"p{n}@example.com", "pw", first_name=f"P{n}")
    notification = Notification.objects.create(
        subject="For {{ first_name }}", html_body="<p>{{ first_name }}</p>", text_body="Static",
        status="sending", started_at=timezone.now())
    ids = [OutgoingEmail.objects.create(notification=notification, user=user, lane="bulk",
                                        kind="notification", to_email=user.email).pk
           for user in User.objects.order_by("pk")]

    result = send_batch(ids=ids)

    assert result.sent == 5
    assert len(compilations) == 2  # subject and HTML; the text part has no field
    assert sorted(message.subject for message in mail.outbox) == [f"For P{n}" for n in range(5)]
    assert all(message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
               for message in mail.outbox)


HOSTILE_NAMES = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "  javascript:alert(1)",
    "\tjava\nscript:alert(1)", "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)",
    "javascript&colon;alert(1)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)", "\x01javascript:alert(1)",
]


def hrefs(html: str) -> list[str]:
    """Every URL attribute's value as a browser reads it (entities decoded once)."""
    found = re.findall(r'\b(?:href|src|action|formaction|xlink:href)\s*=\s*"([^"]*)"', html,
                       re.I)
    return [htmllib.unescape(value) for value in found]


def is_safe(url: str) -> bool:
    """Whether a browser would follow `url` as http(s), mailto or a relative link (the URL
    standard's scheme: outer C0 controls and spaces dropped, tabs and newlines removed)."""
    url = re.sub(r"[\t\n\r]", "", url.strip("".join(map(chr, range(0x21)))))
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return scheme is None or scheme.group(1).lower() in ("http", "https", "mailto")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_personal_field_never_makes_a_dangerous_url(name):
    compiled = CompiledMessage(
        subject="Hi", text="Hi {{ first_name }}",
        html='<p><a href="{{ first_name }}">x</a> <a href="{{ last_name }}/x">y</a>'
             '<img src="{{ first_name }}"> <a href="https://example.com/{{ first_name }}">z</a>'
             '</p>')
    _subject, text, html = compiled.render(Recipient(email="a@b.c", first_name=name,
                                                     last_name=name))
    assert all(is_safe(url) for url in hrefs(html)), html
    assert "https://example.com/" in html  # a field inside a safe URL stays
    assert text == f"Hi {name}"  # the text part is not HTML


@pytest.mark.django_db
def test_a_recipient_named_javascript_gets_no_such_href_in_the_sent_email(settings, mailoutbox):
    settings.DEBUG = True
    user = User.objects.create_user("js", "js@example.com", "pw",
                                    first_name="JaVaScRiPt:alert(document.domain)")
    notification = Notification.objects.create(
        subject="Hi", html_body='<p><a href="{{ first_name }}">Open</a></p>', text_body="Hi",
        status="sending", started_at=timezone.now())
    delivery = OutgoingEmail.objects.create(notification=notification, user=user, lane="bulk",
                                            kind="notification", to_email=user.email)

    assert send_batch(ids=[delivery.pk]).sent == 1

    [message] = mailoutbox
    [(html, _type)] = message.alternatives
    assert "alert(document.domain)" not in "".join(hrefs(html))
    assert all(is_safe(url) for url in hrefs(html)), html


@pytest.mark.django_db
def test_a_template_saved_around_the_form_fails_its_recipients_and_no_page(
        admin_client, monkeypatch, only_our_workers):
    from notifications import services

    User.objects.create_user("w1", "w1@example.com", "pw")
    notification = Notification.objects.create(  # not through the form: nothing checked it
        subject="Hi", text_body="Hello {{ first_name|default:nickname }}")
    page = admin_client.get(f"/admin/notifications/notification/{notification.pk}/change/")
    assert page.status_code == 200
    assert "the fallback “nickname” must be quoted text" in page.content.decode()

    monkeypatch.setattr(services, "drain_enqueue", lambda **kwargs: True)
    services.notification_start(notification_id=notification.pk)
    services.notification_drain(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == "failed"  # finished: nothing left to send or retry
    rows = OutgoingEmail.objects.filter(notification=notification)
    assert set(rows.values_list("status", flat=True)) == {"failed"}
    assert all("could not render" in error and "nickname" in error
               for error in rows.values_list("last_error", flat=True))
    page = admin_client.get(f"/admin/notifications/notification/{notification.pk}/change/")
    assert page.status_code == 200
