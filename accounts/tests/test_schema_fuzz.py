"""Schemathesis fuzzes every operation of /api/schema/: no 500, no response off the schema."""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def generated_schema() -> dict:
    """The document /api/schema/ serves, built the way the view builds it (no HTTP, no DB).

    Built at import because schemathesis' fixture-based loader does not work with pytest 9;
    `test_served_schema_is_the_fuzzed_one` checks that the served document is this one.
    """
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))


schema = schemathesis.openapi.from_dict(generated_schema())
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _in_process_wsgi(db):
    """Call the real WSGI stack in the test's transaction, with throttles out of the way."""
    # High limits so the fuzzer reaches the views; the 429 path has its own tests.
    rates = {scope: "100000/minute" for scope in api_settings.DEFAULT_THROTTLE_RATES}
    # Like Django's test client: keep the test's connection (and transaction) open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with override_settings(REST_FRAMEWORK={**api_settings.user_settings,
                                               "DEFAULT_THROTTLE_RATES": rates}):
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_served_schema_is_the_fuzzed_one(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json() == generated_schema()
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b'id="back-to-admin"' in docs.content and b'href="/admin/"' in docs.content


@pytest.fixture
def token(db):
    user = User.objects.create_user("fuzz", "fuzz@example.com", "Fuzz-password-1")
    return Token.objects.create(user=user).key


@schema.parametrize()
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_schema(case, token):
    Token.objects.get_or_create(key=token, user=User.objects.get(username="fuzz"))
    headers = {"Authorization": f"Token {token}"} if case.operation.security else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
