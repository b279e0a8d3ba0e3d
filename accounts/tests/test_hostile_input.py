"""Hostile input answers a clear 4xx, never a 500: lone surrogates, oversized fields."""

import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "correct-Horse-battery-9"
SURROGATE_BODIES = [
    '{"username": "\\ud800", "password": "x"}',
    '{"username": "ada\\udfff", "password": "x"}',
    '{"username": "ada", "password": "\\ud800"}',
]


def raw_post(path, body):
    return APIClient().post(path, body, content_type="application/json")


@pytest.mark.parametrize("body", SURROGATE_BODIES)
def test_a_lone_surrogate_at_login_is_a_400(body):
    User.objects.create_user("ada", "ada@example.com", PASSWORD)
    response = raw_post("/api/login/", body)
    assert response.status_code == 400


@pytest.mark.parametrize("field", ["username", "email", "password", "first_name", "last_name"])
def test_a_lone_surrogate_at_registration_is_a_400(field):
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD,
            "first_name": "Ada", "last_name": "L"}
    text = json.dumps(body).replace(
        f'"{field}": "', f'"{field}": "\\ud800', 1)
    response = raw_post("/api/register/", text)
    assert response.status_code == 400, response.content
    assert not User.objects.exists()


@pytest.mark.parametrize("path", ["/api/password-reset/", "/api/profile/email/confirm/"])
def test_a_lone_surrogate_elsewhere_is_a_400(path):
    response = raw_post(path, '{"email": "a\\ud800@example.com", "token": "\\ud800"}')
    assert response.status_code == 400


def test_a_lone_surrogate_in_the_profile_is_a_400():
    user = User.objects.create_user("ada", "ada@example.com", PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    for body in ('{"first_name": "\\ud800"}', '{"preferences": {"\\ud800": true}}',
                 '{"email": "x\\ud800@example.com", "current_password": "' + PASSWORD + '"}'):
        response = api.patch("/api/profile/", body, content_type="application/json")
        assert response.status_code == 400, body


@pytest.mark.parametrize("name", ["%ED%A0%80", "ada%ED%A0%80", "%FF%FE"])
def test_bad_bytes_at_the_admin_login_are_not_a_500(name):
    response = Client().post("/admin/login/", f"username={name}&password=x",
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 400)


BIG = "x" * 1_400_000
PROFILE_BODIES = {
    "first_name": {"first_name": BIG},
    "last_name": {"last_name": BIG},
    "email": {"email": BIG + "@example.com", "current_password": PASSWORD},
    "current_password": {"email": "new@example.com", "current_password": BIG},
    "preferences key": {"preferences": {BIG: True}},
    "preferences value": {"preferences": {"announcements": BIG}},
    "preferences nested": {"preferences": {"announcements": {"a": [BIG]}}},
    "many preferences": {"preferences": {f"t{n}": True for n in range(100_000)}},
    "read-only field": {"username": BIG},
    "unknown field": {"bio": BIG},
    "unknown nested": {"bio": {"a": [BIG]}},
}


@pytest.mark.parametrize("name", PROFILE_BODIES)
def test_every_profile_field_is_bounded(name):
    user = User.objects.create_user("ada", "ada@example.com", PASSWORD, first_name="Ada")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    response = api.patch("/api/profile/", PROFILE_BODIES[name], format="json")

    assert response.status_code == 400, response.content[:200]
    assert len(response.content) < 2000  # the answer does not echo the megabyte
    user.refresh_from_db()
    assert (user.first_name, user.email) == ("Ada", "ada@example.com")


@pytest.mark.parametrize("field", ["username", "email", "password", "first_name", "last_name",
                                   "nickname"])
def test_every_registration_field_is_bounded(field):
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD,
            "first_name": "Ada", "last_name": "L", field: BIG}

    response = APIClient().post("/api/register/", body, format="json")

    assert response.status_code == 400 and field in response.json()
    assert len(response.content) < 2000
    assert not User.objects.exists()


def test_the_profile_still_takes_back_what_it_gave():
    user = User.objects.create_user("ada", "ada@example.com", PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    body = {**api.get("/api/profile/").json(), "first_name": "Augusta"}

    response = api.patch("/api/profile/", body, format="json")

    assert response.status_code == 200 and response.json()["first_name"] == "Augusta"
