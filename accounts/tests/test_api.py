"""The accounts API through HTTP (DRF test client): shapes, validation, tokens, reset."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.authtoken.models import Token

from accounts.api import RESET_MESSAGE
from accounts.models import User
from accounts.tasks import password_reset_lookup
from notifications.models import OutgoingEmail

pytestmark = pytest.mark.django_db


def test_register_creates_user_and_records_welcome_email(api, registration):
    response = api.post("/api/register/", registration, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"message", "username", "email_sent", "email_queued"}
    user = User.objects.get(username=body["username"])
    assert (user.username, user.email, user.first_name) == ("ada", "ada@example.com", "Ada")
    assert user.check_password(registration["password"])
    assert not Token.objects.filter(user=user).exists()  # the client logs in for its token
    # Inside the test transaction nothing commits, so the email is recorded, not yet queued.
    email = OutgoingEmail.objects.get(user=user)
    assert (email.kind, email.to_email, email.status) == ("welcome", "ada@example.com", "pending")
    assert body["email_queued"] is False
    assert body["email_sent"] == ("An email to the address given will be sent as soon as the "
                                  "task queue is back")
    login = api.post("/api/login/", {"username": "ada", "password": registration["password"]},
                     format="json")
    assert login.status_code == 200 and login.json()["user_id"] == user.pk


def test_duplicate_username_is_400_with_field_error(api, registration):
    assert api.post("/api/register/", registration, format="json").status_code == 201

    response = api.post("/api/register/", {**registration, "username": "ADA",
                                           "email": "other@example.com"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"username"}
    assert User.objects.count() == 1


def test_a_taken_email_answers_like_a_new_registration_and_tells_its_owner(api, registration):
    first = api.post("/api/register/", registration, format="json")
    taken = api.post("/api/register/", {**registration, "username": "eve",
                                        "email": "ADA@example.com"}, format="json")
    fresh = api.post("/api/register/", {**registration, "username": "bob",
                                        "email": "bob@example.com"}, format="json")

    assert first.status_code == taken.status_code == fresh.status_code == 201
    assert taken.json() == {**fresh.json(), "username": "eve"}
    assert not User.objects.filter(username="eve").exists()
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1
    notice = OutgoingEmail.objects.get(kind="registration_attempt")
    assert (notice.to_email, notice.user.username) == ("ada@example.com", "ada")
    weak = api.post("/api/register/", {**registration, "username": "eve2", "password": "eve2"},
                    format="json")
    assert weak.status_code == 400 and set(weak.json()) == {"password"}


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"username", "email", "password"}),
        ({"username": "bob", "email": "not-an-email", "password": "x"}, {"email"}),
        ({"username": "bob", "email": "b@example.com", "password": "12345678"}, {"password"}),
        ({"username": "bob", "email": "b@example.com", "password": "bob"}, {"password"}),
        ({"username": "bad name!", "email": "b@example.com", "password": "Zq9-long-pass"},
         {"username"}),
        ({"username": "a" * 151, "email": "b@example.com", "password": "Zq9-long-pass"},
         {"username"}),
        ({"username": "nul\x00l", "email": "b@example.com", "password": "Zq9-long-pass"},
         {"username"}),
        ({"username": ["x"], "email": {"a": 1}, "password": 5}, {"username", "email"}),
    ],
)
def test_bad_registration_payloads_are_400_and_change_nothing(api, payload, fields):
    response = api.post("/api/register/", payload, format="json")

    assert response.status_code == 400
    assert fields <= set(response.json())
    assert not User.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_malformed_json_is_400_not_500(api):
    response = api.post("/api/register/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


def test_login_logout_profile_and_protected(api, registration):
    api.post("/api/register/", registration, format="json")

    bad = api.post("/api/login/", {"username": "ada", "password": "wrong"}, format="json")
    assert bad.status_code == 400 and "non_field_errors" in bad.json()
    login = api.post("/api/login/", {"username": "ada", "password": registration["password"]},
                     format="json")
    assert login.status_code == 200
    token = login.json()["token"]

    assert api.get("/api/protected/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    protected = api.get("/api/protected/")
    assert protected.status_code == 200 and protected.json()["username"] == "ada"

    profile = api.patch("/api/profile/", {"first_name": "Augusta", "username": "hacker"},
                        format="json")
    assert profile.status_code == 200
    assert profile.json()["first_name"] == "Augusta"
    assert profile.json()["username"] == "ada"  # read-only
    assert api.get("/api/profile/").json()["first_name"] == "Augusta"

    assert api.post("/api/logout/").status_code == 200
    assert not Token.objects.filter(key=token).exists()
    assert api.get("/api/profile/").status_code == 401


def test_profile_email_taken_by_someone_else_is_400(api, registration):
    api.post("/api/register/", registration, format="json")
    api.post("/api/register/", {**registration, "username": "bob", "email": "bob@example.com"},
             format="json")
    token = api.post("/api/login/", {"username": "bob", "password": registration["password"]},
                     format="json").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = api.patch("/api/profile/", {"email": "ADA@example.com",
                                           "current_password": registration["password"]},
                         format="json")

    assert response.status_code == 400 and "email" in response.json()
    assert User.objects.get(username="bob").email == "bob@example.com"


def test_public_endpoint_needs_nothing(api):
    response = api.get("/api/public/")
    assert response.status_code == 200 and "message" in response.json()


def test_password_reset_answers_the_same_whether_or_not_the_address_exists(
        api, registration, django_capture_on_commit_callbacks):
    api.post("/api/register/", registration, format="json")
    before = OutgoingEmail.objects.count()

    answers, callbacks = [], []
    for address in ("ADA@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries, \
                django_capture_on_commit_callbacks(execute=False) as queued:
            answers.append(api.post("/api/password-reset/", {"email": address}, format="json"))
        # The request itself never looks the address up; only the enqueue is left to do.
        assert not [q for q in queries if "accounts_user" in q["sql"]]
        callbacks.append(queued)
    known, unknown = answers

    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json() == {"message": RESET_MESSAGE}
    assert sorted(known.headers) == sorted(unknown.headers)
    assert [len(c) for c in callbacks] == [1, 1]
    assert OutgoingEmail.objects.count() == before  # nothing recorded by the request


def test_the_reset_lookup_task_queues_an_email_for_known_addresses_only(registration, api):
    api.post("/api/register/", registration, format="json")

    assert password_reset_lookup.run("ADA@example.com") == {"queued": 1}
    assert password_reset_lookup.run("nobody@example.com") == {"queued": 0}
    kinds = list(OutgoingEmail.objects.values_list("kind", "to_email"))
    assert ("password_reset", "ada@example.com") in kinds
    assert len(kinds) == 2  # the welcome email and one reset email, none for the unknown one


def test_password_reset_confirm_sets_password_once(api, registration):
    api.post("/api/register/", registration, format="json")
    user = User.objects.get(username="ada")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    payload = {"uid": uid, "token": token, "new_password": "A-brand-new-secret-42"}

    weak = api.post("/api/password-reset/confirm/", {**payload, "new_password": "123"},
                    format="json")
    assert weak.status_code == 400 and "new_password" in weak.json()
    assert api.post("/api/password-reset/confirm/", payload, format="json").status_code == 200
    reused = api.post("/api/password-reset/confirm/", {**payload, "new_password": "Other-9-pw"},
                      format="json")

    assert reused.status_code == 400 and "token" in reused.json()
    user.refresh_from_db()
    assert user.check_password("A-brand-new-secret-42")
    assert not Token.objects.filter(user=user).exists()  # old API tokens are revoked


@pytest.mark.parametrize(
    "payload",
    [
        {"uid": "!!", "token": "x", "new_password": "A-brand-new-secret-42"},
        {"uid": urlsafe_base64_encode(b"99999999999999999999999"), "token": "x",
         "new_password": "A-brand-new-secret-42"},
        {"uid": urlsafe_base64_encode(b"1"), "token": "1-abc", "new_password": "Zz-long-pass-9"},
        {"uid": "", "token": "", "new_password": ""},
    ],
)
def test_password_reset_confirm_bad_links_are_400(api, payload):
    response = api.post("/api/password-reset/confirm/", payload, format="json")
    assert response.status_code == 400


def test_registration_reports_every_bad_field_at_once(api, registration):
    response = api.post("/api/register/", {**registration, "username": "", "email": "bad",
                                           "password": "123"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"username", "email", "password"}
    assert any("too short" in m for m in response.json()["password"])
    assert not User.objects.exists()


def test_a_taken_username_and_a_weak_password_are_both_reported(api, registration):
    api.post("/api/register/", registration, format="json")

    response = api.post("/api/register/", {**registration, "email": "other@example.com",
                                           "password": "ada"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}
    assert User.objects.count() == 1
