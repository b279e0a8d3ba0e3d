"""Every /api/ request is logged with its route pattern; logging never breaks a request."""

import logging

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import User
from reports.models import ApiRequest
from reports.request_log import request_log_flush

pytestmark = pytest.mark.django_db


def test_logs_route_pattern_method_status_ip_and_duration():
    response = Client().get("/api/public/?q=raw", REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 200
    assert not ApiRequest.objects.exists()  # buffered, not written in the request
    assert request_log_flush() == 1
    [row] = ApiRequest.objects.all()
    assert (row.method, row.route, row.status_code) == ("GET", "/api/public/", 200)
    assert row.ip == "198.51.100.4" and row.user_id is None
    assert row.duration_ms >= 0 and row.timestamp is not None


def test_logs_the_token_user_and_error_statuses():
    user = User.objects.create_user("logme", "logme@example.com", "pw-Long-enough-1")
    token = Token.objects.create(user=user)
    client = Client()

    client.get("/api/protected/", HTTP_AUTHORIZATION=f"Token {token.key}")
    client.get("/api/protected/")
    client.post("/api/login/", "{bad", content_type="application/json")
    request_log_flush()

    rows = list(ApiRequest.objects.order_by("id").values_list(
        "method", "route", "status_code", "user_id"))
    assert rows == [
        ("GET", "/api/protected/", 200, user.pk),
        ("GET", "/api/protected/", 401, None),
        ("POST", "/api/login/", 400, None),
    ]


def test_unmatched_paths_are_logged_without_the_raw_path_and_others_not_at_all():
    client = Client()
    client.get("/api/users/12345/secret-token/")
    client.get("/healthz")
    request_log_flush()

    [row] = ApiRequest.objects.all()
    assert row.route == "<unmatched>" and row.status_code == 404


def test_forwarded_for_is_believed_only_from_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client = Client()
    client.get("/api/public/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="203.0.113.8")
    client.get("/api/public/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.8")
    request_log_flush()

    assert list(ApiRequest.objects.order_by("id").values_list("ip", flat=True)) == [
        "203.0.113.8", "192.0.2.1"]


def test_a_failure_to_log_is_logged_and_the_response_still_goes_out(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("address lookup broke")

    monkeypatch.setattr("reports.middleware.client_ip", broken)
    with caplog.at_level(logging.ERROR, logger="reports.middleware"):
        response = Client().get("/api/public/")

    assert response.status_code == 200
    assert "could not log API request GET /api/public/" in caplog.text
    assert "address lookup broke" in caplog.text
    assert request_log_flush() == 0 and not ApiRequest.objects.exists()


def test_middleware_can_be_switched_off(settings):
    settings.API_REQUEST_LOG_ENABLED = False  # the handler rebuilds its chain on change
    Client().get("/api/public/")
    request_log_flush()
    assert not ApiRequest.objects.exists()
