"""No admin page shows a password hash or an API token key, whoever looks."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.roles import AUDITORS, OPERATORS
from tests.people import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(django_user_model):
    return django_user_model.objects.create_user("target", "t@example.com", "pw-Target-123")



def hash_parts(user):
    """The stored hash and its salt and digest (each must be absent, not just the whole)."""
    algorithm, *rest = user.password.split("$")
    return [user.password, *(part for part in rest if len(part) >= 8)]


@pytest.mark.parametrize("role", [AUDITORS, OPERATORS, "superuser"])
def test_user_change_page_never_shows_the_hash(client, django_user_model, target, role):
    viewer = (django_user_model.objects.create_superuser("root", "r@example.com", "pw-Root-123")
              if role == "superuser" else member("viewer", role))
    client.force_login(viewer)

    page = client.get(reverse("admin:accounts_user_change", args=[target.pk]))

    assert page.status_code == 200
    body = page.content.decode()
    assert "algorithm" in body  # the masked summary is there instead
    for part in hash_parts(target):
        assert part not in body


def test_token_pages_never_show_the_key(admin_client, target):
    token = Token.objects.create(user=target)
    pages = [
        reverse("admin:authtoken_tokenproxy_changelist"),
        reverse("admin:authtoken_tokenproxy_change", args=[target.pk]),
        reverse("admin:authtoken_tokenproxy_delete", args=[target.pk]),
        reverse("admin:authtoken_tokenproxy_history", args=[target.pk]),
    ]
    for url in pages:
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert token.key not in page.content.decode(), url
        assert "API token of target" in page.content.decode(), url

    deleted = admin_client.post(pages[2], {"post": "yes"}, follow=True)
    assert token.key not in deleted.content.decode()
    assert not Token.objects.filter(user=target).exists()
