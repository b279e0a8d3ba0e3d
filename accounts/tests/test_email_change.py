"""Changing the email address: password, confirmation link, notices, undo, revoked tokens."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.email_change import EmailChange, confirm_token, undo_token
from accounts.models import User
from accounts.tests.test_email_flow import parts
from notifications.models import OutgoingEmail

PASSWORD = "correct-Horse-battery-9"
Kind = OutgoingEmail.Kind


@pytest.fixture
def ada(db):
    return User.objects.create_user("ada", "ada@example.com", PASSWORD, first_name="Ada")


def client_for(user) -> APIClient:
    api = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def change(user, new="new@example.com", old=None) -> EmailChange:
    return EmailChange(user.pk, old or user.email, new)


def emails():
    return sorted((e.kind, e.to_email) for e in OutgoingEmail.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize("password", [None, "", "wrong-password"])
def test_a_token_alone_cannot_change_the_email(ada, password):
    body = {"email": "thief@example.com", "first_name": "Eve"}
    if password is not None:
        body["current_password"] = password

    response = client_for(ada).patch("/api/profile/", body, format="json")

    assert response.status_code == 400 and "current_password" in response.json()
    ada.refresh_from_db()
    assert (ada.email, ada.first_name) == ("ada@example.com", "Ada")  # nothing changed
    assert emails() == []


@pytest.mark.django_db
@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_staff_cannot_change_their_email_through_the_api(ada, flag):
    setattr(ada, flag, True)
    ada.save()

    response = client_for(ada).patch(
        "/api/profile/", {"email": "new@example.com", "current_password": PASSWORD},
        format="json")

    assert response.status_code == 403
    assert "change it in the admin" in response.json()["detail"]
    ada.refresh_from_db()
    assert ada.email == "ada@example.com" and emails() == []


@pytest.mark.django_db
def test_with_the_password_nothing_changes_until_the_link_is_opened(ada):
    response = client_for(ada).patch(
        "/api/profile/", {"email": "new@Example.com", "current_password": PASSWORD,
                          "last_name": "Lovelace"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["email_change"] == "pending" and "new@example.com" in body["message"]
    assert body["email"] == "ada@example.com" and body["last_name"] == "Lovelace"
    assert "current_password" not in body
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert emails() == [(Kind.EMAIL_CHANGE_CONFIRM, "new@example.com"),
                        (Kind.EMAIL_CHANGE_NOTICE, "ada@example.com")]


@pytest.mark.django_db
def test_the_same_address_needs_no_password_and_changes_nothing(ada):
    response = client_for(ada).patch("/api/profile/", {"email": "ADA@example.com"},
                                     format="json")
    assert response.status_code == 200 and "email_change" not in response.json()
    assert emails() == []


@pytest.mark.django_db
def test_guessing_the_password_through_the_profile_is_throttled(ada, settings):
    from accounts.tests.test_login_throttle import rates

    api = client_for(ada)
    with rates(login="1000/minute", login_username="3/minute"):
        codes = [api.patch("/api/profile/", {"email": "x@example.com", "current_password": p},
                           format="json").status_code for p in ("a", "b", "c", PASSWORD)]
    assert codes == [400, 400, 400, 429]


@pytest.mark.django_db
def test_confirming_through_the_api_keeps_only_the_requests_own_token(ada):
    api = client_for(ada)
    token = confirm_token(change(ada))

    response = api.post("/api/profile/email/confirm/", {"token": token}, format="json")

    assert response.status_code == 200 and response.json()["email"] == "new@example.com"
    ada.refresh_from_db()
    assert ada.email == "new@example.com"
    assert api.get("/api/profile/").status_code == 200  # the confirming token still works
    assert emails() == [(Kind.EMAIL_CHANGED, "ada@example.com")]
    [notice] = OutgoingEmail.objects.all()
    assert notice.context == {"other_email": "new@example.com"}
    spent = api.post("/api/profile/email/confirm/", {"token": token}, format="json")
    assert spent.status_code == 400 and "token" in spent.json()


@pytest.mark.django_db
def test_confirming_anonymously_revokes_every_token(ada):
    holder = client_for(ada)

    response = APIClient().post("/api/profile/email/confirm/",
                                {"token": confirm_token(change(ada))}, format="json")

    assert response.status_code == 200
    assert holder.get("/api/profile/").status_code == 401
    assert not Token.objects.filter(user=ada).exists()


def _expired(monkeypatch, make, value):
    real = signing.TimestampSigner.timestamp
    monkeypatch.setattr(signing.TimestampSigner, "timestamp",
                        lambda self: signing.b62_encode(signing.b62_decode(real(self)) - 90000))
    token = make(value)
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", real)
    return token


@pytest.mark.django_db
def test_expired_forged_and_foreign_links_are_refused(ada, monkeypatch):
    bob = User.objects.create_user("bob", "bob@example.com", PASSWORD)
    good = confirm_token(change(ada))
    bad = {
        "expired": _expired(monkeypatch, confirm_token, change(ada)),
        "forged": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "undo token": undo_token(change(ada)),
        "someone else's old address": confirm_token(change(ada, old=bob.email)),
        "garbage": "not-a-token",
    }
    for name, token in bad.items():
        response = APIClient().post("/api/profile/email/confirm/", {"token": token},
                                    format="json")
        assert response.status_code == 400, name
        assert "invalid, expired or already used" in response.json()["token"][0]
        page = Client().get(f"/account/email/confirm/?token={token}")
        assert page.status_code == 400 and "This link cannot be used" in page.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


@pytest.mark.django_db
def test_an_address_taken_meanwhile_is_refused_at_confirmation(ada):
    token = confirm_token(change(ada))
    User.objects.create_user("bob", "new@example.com", PASSWORD)

    response = APIClient().post("/api/profile/email/confirm/", {"token": token}, format="json")

    assert response.status_code == 400 and "already exists" in response.json()["email"][0]
    page = Client().post(f"/account/email/confirm/?token={token}")
    assert page.status_code == 400 and "already exists" in page.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


@pytest.mark.django_db
def test_the_page_confirms_only_with_a_csrf_protected_post(ada):
    holder = client_for(ada)
    browser = Client(enforce_csrf_checks=True)
    path = f"/account/email/confirm/?token={confirm_token(change(ada))}"

    opened = browser.get(path)
    assert opened.status_code == 200 and 'id="email-form"' in opened.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"  # opening the link is not confirming
    assert browser.post(path).status_code == 403  # no CSRF token
    done = browser.post(path, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})

    assert done.status_code == 200
    assert "Your email address has been changed" in done.content.decode()
    ada.refresh_from_db()
    assert ada.email == "new@example.com"
    assert holder.get("/api/profile/").status_code == 401
    again = browser.get(path)
    assert again.status_code == 400 and 'id="email-form"' not in again.content.decode()


@pytest.mark.django_db
def test_undo_restores_the_old_address_revokes_tokens_and_sends_a_reset_link(ada):
    ada.email = "new@example.com"
    ada.save()
    holder = client_for(ada)
    token = undo_token(EmailChange(ada.pk, "ada@example.com", "new@example.com"))
    path = f"/account/email/undo/?token={token}"

    assert Client().get(path).status_code == 200
    done = Client().post(path)

    assert done.status_code == 200 and "reset it now" in done.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert holder.get("/api/profile/").status_code == 401
    assert emails() == [(Kind.PASSWORD_RESET, "ada@example.com")]
    assert Client().post(path).status_code == 400  # spent


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_email_change_end_to_end_under_debug(celery_worker, smtp, settings):
    settings.DEBUG = True  # as `make run` serves it
    ada = User.objects.create_user("ada", "ada@example.com", PASSWORD, first_name="Ada")
    api = APIClient()
    token = api.post("/api/login/", {"username": "ada", "password": PASSWORD},
                     format="json").json()["token"]
    stolen = APIClient()
    stolen.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    pending = stolen.patch("/api/profile/", {"email": "new@example.com",
                                             "current_password": PASSWORD}, format="json")
    assert pending.status_code == 200 and pending.json()["email_change"] == "pending"
    by_to = {m["To"]: m for m in smtp.wait_for(2)}
    assert set(by_to) == {"new@example.com", "ada@example.com"}
    notice = parts(by_to["ada@example.com"])["text/plain"]
    assert "new@example.com" in notice and "Nothing changes unless" in notice
    confirm = parts(by_to["new@example.com"])
    link = re.search(r"https?://\S+", confirm["text/plain"]).group(0)
    assert link in confirm["text/html"].replace("&amp;", "&")
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"

    page = f"{urlsplit(link).path}?{urlsplit(link).query}"
    browser = Client()
    assert browser.get(page).status_code == 200
    assert browser.post(page).status_code == 200
    ada.refresh_from_db()
    assert ada.email == "new@example.com"
    assert stolen.get("/api/profile/").status_code == 401

    changed = [m for m in smtp.wait_for(3)[2:] if m["To"] == "ada@example.com"][0]
    text = parts(changed)["text/plain"]
    assert "changed from ada@example.com to new@example.com" in text
    undo = re.search(r"https?://\S+/account/email/undo/\S+", text).group(0)
    assert "token" in parse_qs(urlsplit(undo).query)
    undo_page = f"{urlsplit(undo).path}?{urlsplit(undo).query}"
    assert Client().post(undo_page).status_code == 200
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    reset = smtp.wait_for(4)[3]
    assert reset["To"] == "ada@example.com" and "Reset" in reset["Subject"]
