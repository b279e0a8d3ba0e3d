"""Recipients' control without a worker: signed unsubscribe links, preferences through the
page, the API and the admin, the suppression list, and personal fields refused when bad."""

import collections

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import signing
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import AUDITORS, OPERATORS, roles_sync
from notifications.models import Notification, OutgoingEmail, Subscription, Suppression
from notifications.recipients import (
    SALT,
    audience_breakdown,
    preferences_read,
    recipients_write,
    unsubscribe_token,
    unsubscribe_url,
)

pytestmark = pytest.mark.django_db
ADD = "/admin/notifications/notification/add/"


def link(user=None, email="", topic="announcements") -> str:
    token = unsubscribe_token(email=email or user.email, user_id=user.pk if user else None,
                              topic=topic)
    return unsubscribe_url(token).removeprefix("http://127.0.0.1:8000")


@pytest.fixture
def reader():
    return User.objects.create_user("reader", "Reader@example.com", "pw", first_name="Ria")


def test_get_shows_the_page_and_changes_nothing(client, reader):
    response = client.get(link(reader))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Stop sending announcements to Reader@example.com?" in page
    assert 'id="preferences-form"' in page and "Newsletter" in page
    assert preferences_read(user=reader)["announcements"] is True


def test_one_click_post_unsubscribes_at_once_without_login_or_csrf(reader):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(link(reader), "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert preferences_read(user=reader) == {"announcements": False, "newsletter": True}


def _foreign(url):
    """A well-formed token signed with another key."""
    data = {"e": "reader@example.com", "u": User.objects.get().pk, "t": "announcements"}
    forged = signing.Signer(key="not-our-secret-key-" * 3, salt=SALT).sign_object(data)
    return f"/email/unsubscribe/{forged}/"


@pytest.mark.parametrize("tamper", [
    _foreign,
    lambda url: url[:-3] + ("A/" if url[-2] != "A" else "B/"),
    lambda url: url.replace("/unsubscribe/", "/unsubscribe/x"),
])
def test_a_tampered_token_is_refused(client, reader, tamper):
    url = tamper(link(reader))
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code in (400, 404)
    assert client.get(url).status_code in (400, 404)
    assert not Subscription.objects.exists() and not Suppression.objects.exists()


def test_the_page_saves_chosen_topics(client, reader):
    response = client.post(link(reader), {"action": "preferences", "topics": ["newsletter"]})
    assert "Your choices are saved" in response.content.decode()
    assert preferences_read(user=reader) == {"announcements": False, "newsletter": True}


def test_an_address_without_account_goes_on_the_suppression_list(client):
    client.post(link(email="pasted@example.com"), {"List-Unsubscribe": "One-Click"})
    entry = Suppression.objects.get()
    assert (entry.email, entry.reason) == ("pasted@example.com", "unsubscribed")


def test_profile_api_reads_and_changes_preferences(reader):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=reader).key}")
    assert api.get("/api/profile/").json()["preferences"] == {"announcements": True,
                                                             "newsletter": True}
    response = api.patch("/api/profile/", {"preferences": {"newsletter": False},
                                           "first_name": "Rhea"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["preferences"] == {"announcements": True, "newsletter": False}
    bad = api.patch("/api/profile/", {"preferences": {"spam": False}, "first_name": "X"},
                    format="json")
    assert bad.status_code == 400 and "spam" in bad.json()["preferences"][0]
    reader.refresh_from_db()
    assert reader.first_name == "Rhea"  # the refused request changed nothing


def test_unsubscribed_and_suppressed_recipients_are_skipped_with_the_reason(reader):
    User.objects.create_user("other", "other@example.com", "pw")
    Subscription.objects.create(user=reader, topic="announcements", subscribed=False)
    Suppression.objects.create(email="bounced@example.com", reason="bounced", detail="550")
    for audience, extra in (("active_users", {}), ("addresses", {
            "addresses": "bounced@example.com\nreader@example.com\nnew@example.com"})):
        notification = Notification.objects.create(subject="S", text_body="t",
                                                   audience=audience, **extra)
        recipients_write(notification=notification)
        rows = dict(OutgoingEmail.objects.filter(notification=notification)
                    .values_list("to_email", "last_error"))
        statuses = dict(OutgoingEmail.objects.filter(notification=notification)
                        .values_list("to_email", "status"))
        assert rows["reader@example.com"] == "unsubscribed from announcements"
        assert statuses["reader@example.com"] == "skipped"
    assert rows["bounced@example.com"] == "suppressed: refused permanently (5xx)"
    assert statuses == {"bounced@example.com": "skipped", "reader@example.com": "skipped",
                        "new@example.com": "pending"}


def test_the_breakdown_before_a_send_counts_what_the_send_leaves_out(reader):
    """One rule decides who is left out: the counts shown before a send match the rows the
    send writes, also for an address that is both a leaver's and suppressed."""
    User.objects.create_user("other", "other@example.com", "pw")
    Subscription.objects.create(user=reader, topic="announcements", subscribed=False)
    Suppression.objects.create(email="reader@example.com", reason="unsubscribed")
    Suppression.objects.create(email="bounced@example.com", reason="bounced", detail="550")
    pasted = "bounced@example.com\nREADER@example.com\nnew@example.com\nnew@example.com\nnope"
    for audience, extra in (("active_users", {}), ("addresses", {"addresses": pasted})):
        notification = Notification.objects.create(subject="S", text_body="t",
                                                   audience=audience, **extra)
        before = audience_breakdown(notification)
        recipients_write(notification=notification)
        rows = OutgoingEmail.objects.filter(notification=notification)
        reasons = collections.Counter(rows.filter(status="skipped").values_list(
            "last_error", flat=True))
        assert before["unsubscribed"] == reasons["unsubscribed from announcements"] == 1
        assert before["suppressed"] == sum(
            count for reason, count in reasons.items() if reason.startswith("suppressed"))
        assert before["recipients"] == rows.filter(status="pending").count()
    assert before == {"recipients": 1, "unsubscribed": 1, "suppressed": 1, "invalid": 1,
                      "duplicates": 1, "excluded": 3}


@pytest.mark.parametrize("field, value, message", [
    ("html_body", "<p>Hi {{ nickname }}</p>", "Line 1 of the HTML body: “{{ nickname }}” — "
                                              "there is no personal field “nickname”"),
    ("text_body", "Hello\n  {% if first_name %}", "Line 2 of the text body: “{% if first_name %}” "
                                                  "— tags ({% … %}) are not available"),
    ("subject", "Hi {{ first_name|upper }}", "Line 1 of the subject: “{{ first_name|upper }}” — "
                                             "there is no filter “upper”"),
    ("text_body", "{{ email.domain }}", "there is no personal field “email.domain”"),
    ("html_body", "<p>{{ first_name|default:nickname }}</p>",
     "Line 1 of the HTML body: “{{ first_name|default:nickname }}” — the fallback “nickname” "
     "must be quoted text"),
])
def test_bad_template_input_is_refused_and_nothing_saved(admin_client, field, value, message):
    data = {"subject": "Hello", "audience": "active_users", "html_body": "<p>Hi</p>",
            "text_body": "", "addresses": "", field: value}
    response = admin_client.post(ADD, data)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not Notification.objects.exists()


def test_preview_shows_the_message_as_a_chosen_recipient_sees_it(admin_client, reader):
    User.objects.create_user("mallory", "m@example.com", "pw", first_name="<b>Mal</b>")
    notification = Notification.objects.create(
        subject="News for {{ first_name|default:'you' }}",
        html_body="<p>Dear {{ first_name }}</p>", text_body="Dear {{ first_name }}")
    url = f"/admin/notifications/notification/{notification.pk}/change/"
    page = admin_client.get(url, {"preview_as": "mallory"}).content.decode()
    assert "News for &lt;b&gt;Mal&lt;/b&gt;" in page  # the subject, escaped by the page
    assert "&amp;lt;b&amp;gt;Mal" in page  # the HTML part escaped the name, then srcdoc did
    assert "Unsubscribe" in page
    page = admin_client.get(url, {"preview_as": "reader@example.com"}).content.decode()
    assert "News for Ria" in page


def test_preview_as_nobody_says_so_and_shows_no_ones_message(admin_client, admin_user):
    admin_user.first_name = "Adam"
    admin_user.save()
    notification = Notification.objects.create(subject="News for {{ first_name }}",
                                               html_body="<p>Hi</p>", text_body="Hi")
    url = f"/admin/notifications/notification/{notification.pk}/change/"

    page = admin_client.get(url, {"preview_as": "no-such-person"}).content.decode()

    assert "No user is called or numbered “no-such-person”" in page
    assert "News for Adam" not in page and 'id="preview-subject"' not in page


def test_staff_see_and_edit_the_suppression_list_auditors_only_view(client):
    roles_sync()
    operator = User.objects.create_user("op", "op@example.com", "pw", is_staff=True)
    operator.groups.add(Group.objects.get(name=OPERATORS))
    auditor = User.objects.create_user("aud", "aud@example.com", "pw", is_staff=True)
    auditor.groups.add(Group.objects.get(name=AUDITORS))
    entry = Suppression.objects.create(email="x@example.com", reason="manual")
    change = f"/admin/notifications/suppression/{entry.pk}/change/"

    client.force_login(auditor)
    assert client.get("/admin/notifications/suppression/").status_code == 200
    assert client.post("/admin/notifications/suppression/add/",
                       {"email": "y@example.com", "reason": "manual"}).status_code == 403
    client.post(change, {"email": "x@example.com", "reason": "bounced"})
    assert Suppression.objects.get().reason == "manual"

    client.force_login(operator)
    assert client.post("/admin/notifications/suppression/add/",
                       {"email": "Y@Example.com", "reason": "manual"}).status_code == 302
    assert Suppression.objects.filter(email="y@example.com").exists()
    assert operator.has_perm("notifications.change_subscription")
    assert not auditor.has_perm("notifications.change_subscription")
    assert Permission.objects.filter(codename="view_suppression").exists()


def test_a_sent_notification_page_has_no_show_hide_conditions_without_their_input(
        admin_client):
    notification = Notification.objects.create(subject="Sent", html_body="<p>Hi</p>",
                                               text_body="Hi", status="sent")
    url = f"/admin/notifications/notification/{notification.pk}/change/"

    page = admin_client.get(url).content.decode()
    draft = admin_client.get(url.replace(str(notification.pk), str(
        Notification.objects.create(subject="Draft", html_body="<p>Hi</p>").pk))).content.decode()

    assert "audience ==" not in page  # no condition naming an input the page lacks
    assert "audience ==" in draft  # a draft's form still shows and hides by audience


def test_the_compose_form_says_which_personal_fields_exist(admin_client):
    page = admin_client.get(ADD).content.decode()

    assert page.count("Personal fields: {{ first_name }}, {{ last_name }}, {{ username }}, "
                      "{{ email }}") == 3  # subject, HTML body, text body
