"""Throttles on the Redis cache: 429 with Retry-After; X-Forwarded-For cannot dodge them."""

import pytest
from django.test import override_settings
from rest_framework.settings import api_settings

pytestmark = pytest.mark.django_db


def rates(**changes):
    return override_settings(REST_FRAMEWORK={
        **api_settings.user_settings,
        "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, **changes},
    })


def test_login_throttle_answers_429_with_retry_after(api):
    with rates(login="3/minute"):
        codes = [api.post("/api/login/", {"username": "x", "password": "y"},
                          format="json").status_code for _ in range(4)]
        response = api.post("/api/login/", {"username": "x", "password": "y"}, format="json")

    assert codes == [400, 400, 400, 429]
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "detail" in response.json()


def test_register_and_password_reset_are_throttled(api):
    confirm = {"uid": "x", "token": "y", "new_password": "z"}
    with rates(register="1/hour", password_reset="1/hour", password_reset_confirm="1/hour"):
        api.post("/api/register/", {}, format="json")
        api.post("/api/password-reset/", {"email": "a@example.com"}, format="json")
        api.post("/api/password-reset/confirm/", confirm, format="json")
        assert api.post("/api/register/", {}, format="json").status_code == 429
        reset = api.post("/api/password-reset/", {"email": "a@example.com"}, format="json")
        assert reset.status_code == 429
        again = api.post("/api/password-reset/confirm/", confirm, format="json")
        assert again.status_code == 429


def test_spoofed_forwarded_for_does_not_reset_the_counter(api):
    with rates(login="2/minute"):
        for n in range(2):
            api.post("/api/login/", {"username": "x", "password": "y"}, format="json",
                     HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        spoofed = api.post("/api/login/", {"username": "x", "password": "y"}, format="json",
                           HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert spoofed.status_code == 429


def test_throttle_lets_requests_through_when_the_cache_is_down(api, settings):
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }}
    from rest_framework import throttling

    original = throttling.SimpleRateThrottle.cache
    from django.core.cache import caches

    throttling.SimpleRateThrottle.cache = caches["default"]
    try:
        response = api.post("/api/login/", {"username": "x", "password": "y"}, format="json")
    finally:
        throttling.SimpleRateThrottle.cache = original
    assert response.status_code == 400  # handled normally, not 500, not 429
