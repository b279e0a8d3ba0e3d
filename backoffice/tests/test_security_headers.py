"""Production security headers: CSP sent; X-Forwarded-Proto believed only from proxies."""

import sys

import pytest
from django.conf import settings as django_settings
from django.test import Client

from backoffice.tests.test_configuration import PROD_ENV, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def behind_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]


def test_forwarded_proto_from_a_client_is_ignored(behind_proxy):
    response = Client().get("/admin/login/", REMOTE_ADDR="203.0.113.9",
                            HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")


def test_forwarded_proto_from_a_trusted_proxy_is_believed(behind_proxy):
    response = Client().get("/admin/login/", REMOTE_ADDR="10.1.2.3",
                            HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


def test_csp_header_is_sent_when_configured(settings):
    settings.SECURE_CSP = django_settings.CONTENT_SECURITY_POLICY
    policy = Client().get("/admin/login/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


def test_production_settings_turn_csp_on():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(bool(s.SECURE_CSP), 'django.middleware.csp.ContentSecurityPolicyMiddleware' "
            "in s.MIDDLEWARE, s.MIDDLEWARE[0])")
    result = run([sys.executable, "-c", code], settings_module="backoffice.settings.prod",
                 **PROD_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True",
                                     "backoffice.middleware.TrustedProxyHeadersMiddleware"]
