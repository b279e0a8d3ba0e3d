"""Personal fields: what the engine accepts, and one compilation per batch."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.template import Engine
from django.utils import timezone

from accounts.models import User
from notifications.bulk import batch_send
from notifications.models import Delivery, Notification
from notifications.personalise import CompiledMessage, Recipient, compile_template


@pytest.mark.parametrize("source", [
    "Hi {{ first_name }} {{ last_name }} ({{ username }}, {{ email }})",
    "Hi {{ first_name|default:'there' }}", 'Hi {{ first_name|default:"<b>you</b>" }}',
    "No fields at all", "",
])
def test_allowed_templates(source):
    compile_template(source)


@pytest.mark.parametrize("source, message", [
    ("{% load static %}", "Template error in the text at line 1, column 1"),
    ("{% include 'x.html' %}", "Template error"),
    ("{{ first_name|safe }}", "Invalid filter: 'safe'"),
    ("ok\n\n   {{ settings.SECRET_KEY }}", "Unknown field 'settings.SECRET_KEY' in the text at "
                                            "line 3, column 4"),
    ("{{ 'literal' }}", "Unknown field"),
    ("Hello\n{{ first_name", "Template error in the text at line 2, column 1: '{{' is not "
                              "closed."),
])
def test_refused_templates_name_the_position(source, message):
    with pytest.raises(ValidationError) as caught:
        compile_template(source)
    assert message in caught.value.messages[0]


def test_html_is_escaped_and_text_is_not():
    compiled = CompiledMessage(subject="{{ first_name }}\n  news", text="{{ first_name }}",
                               html='<a title="{{ first_name }}">{{ first_name }}</a>')
    subject, text, html = compiled.render(Recipient(email="a@b.c", first_name='"Jo" <b>'))
    assert subject == '"Jo" <b> news' and text == '"Jo" <b>'
    assert html == '<a title="&quot;Jo&quot; &lt;b&gt;">&quot;Jo&quot; &lt;b&gt;</a>'


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
    ids = [Delivery.objects.create(notification=notification, user=user, email=user.email).pk
           for user in User.objects.order_by("pk")]

    result = batch_send(notification_id=notification.pk, delivery_ids=ids)

    assert result.sent == 5
    assert len(compilations) == 2  # subject and HTML; the text part has no field
    assert sorted(message.subject for message in mail.outbox) == [f"For P{n}" for n in range(5)]
    assert all(message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
               for message in mail.outbox)
