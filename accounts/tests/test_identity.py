"""One person, one name: full-width, case, look-alike and IDNA variants are refused."""

import pytest
from django.db import IntegrityError, transaction

from accounts.identity import normalize_email, username_key
from accounts.models import User
from notifications.models import OutgoingEmail

pytestmark = pytest.mark.django_db
PASSWORD = "correct-Horse-battery-9"


def register(api, username, email):
    return api.post("/api/register/", {"username": username, "email": email,
                                       "password": PASSWORD}, format="json")


@pytest.mark.parametrize("lookalike", [
    "ｒｅｄ_admin",        # full-width
    "RED_ADMIN",          # another case
    "r\u0435d_admin",     # Cyrillic e
    "r\u0435d_\u0430dmin",  # Cyrillic e and a
])
def test_lookalike_usernames_are_refused(api, lookalike):
    assert register(api, "red_admin", "red@example.com").status_code == 201
    response = register(api, lookalike, "other@example.com")
    assert response.status_code == 400, response.content
    assert "username" in response.json()
    assert User.objects.count() == 1


def test_usernames_are_stored_nfkc_normalised(api):
    response = register(api, "ｂｌｕｅ", "blue@example.com")
    assert response.status_code == 201
    assert User.objects.get().username == "blue"


def test_different_names_still_register(api):
    assert register(api, "red_admin", "red@example.com").status_code == 201
    assert register(api, "red_admins", "reds@example.com").status_code == 201


@pytest.mark.parametrize("variant", ["RED@EXAMPLE.COM", "red@ＥＸＡＭＰＬＥ.com"])
def test_email_variants_are_one_address(api, variant):
    assert register(api, "first", "red@example.com").status_code == 201
    response = register(api, "second", variant)
    assert response.status_code == 201  # answered like any registration (no enumeration)
    assert list(User.objects.values_list("username", flat=True)) == ["first"]
    assert OutgoingEmail.objects.filter(kind="registration_attempt",
                                             to_email="red@example.com").exists()


def test_unicode_and_idna_forms_of_a_domain_are_one_address(api):
    assert register(api, "first", "dup@bücher.de").status_code == 201
    assert User.objects.get().email == "dup@xn--bcher-kva.de"
    response = register(api, "second", "dup@xn--bcher-kva.de")
    assert response.status_code == 201  # answered like any registration (no enumeration)
    assert list(User.objects.values_list("username", flat=True)) == ["first"]


def test_quoted_local_parts_are_refused(api):
    assert register(api, "first", "dupX@example.com").status_code == 201
    response = register(api, "second", '"dupX"@example.com')
    assert response.status_code == 400 and "email" in response.json()
    assert User.objects.count() == 1


def test_profile_email_change_is_normalised(api):
    register(api, "first", "one@example.com")
    token = api.post("/api/login/", {"username": "first", "password": PASSWORD},
                     format="json").json()["token"]
    register(api, "second", "two@bücher.de")
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    taken = api.patch("/api/profile/", {"email": "TWO@xn--bcher-kva.de",
                                        "current_password": PASSWORD}, format="json")
    assert taken.status_code == 400 and "email" in taken.json()
    quoted = api.patch("/api/profile/", {"email": '"one"@example.com',
                                         "current_password": PASSWORD}, format="json")
    assert quoted.status_code == 400


def test_the_database_refuses_case_and_lookalike_duplicates():
    User.objects.create_user("red_admin", "a@example.com", PASSWORD)
    for other in ("RED_admin", "r\u0435d_admin"):
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create_user(other, "", PASSWORD)


def test_bulk_create_keeps_the_lookalike_key():
    User.objects.bulk_create([User(username="bulkA"), User(username="bulkB")])
    assert set(User.objects.values_list("username_key", flat=True)) == {"bulka", "bulkb"}


def test_admin_add_user_refuses_a_lookalike(admin_client):
    User.objects.create_user("red_admin", "a@example.com", PASSWORD)
    response = admin_client.post("/admin/accounts/user/add/", {
        "username": "r\u0435d_admin", "password1": PASSWORD, "password2": PASSWORD,
        "usable_password": "true"})
    assert response.status_code == 200  # the form again, not a redirect
    assert "too similar" in response.content.decode()
    assert not User.objects.filter(username="r\u0435d_admin").exists()


def test_identity_helpers():
    assert username_key("ｒｅｄ_ＡＤＭＩＮ") == username_key("r\u0435d_admin") == "red_admin"
    assert normalize_email(" x@BÜCHER.de ") == "x@xn--bcher-kva.de"


def test_admin_change_form_refuses_a_quoted_address(admin_client):
    user = User.objects.create_user("plain", "plain@example.com", PASSWORD)
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", {
        "username": "plain", "email": '"plain"@example.com', "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    assert response.status_code == 200
    assert "Quoted or escaped" in response.content.decode()
    user.refresh_from_db()
    assert user.email == "plain@example.com"
