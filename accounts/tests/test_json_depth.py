"""Deeply nested JSON answers 400, not 500; ordinary nesting still parses."""

import pytest

from backoffice.parsers import json_depth_exceeds

pytestmark = pytest.mark.django_db


def test_json_nested_100000_levels_answers_400(api):
    body = "[" * 100_000 + "]" * 100_000
    response = api.post("/api/login/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]


def test_deep_object_nesting_answers_400(api):
    body = '{"a":' * 5000 + "1" + "}" * 5000
    response = api.post("/api/login/", body, content_type="application/json")
    assert response.status_code == 400


def test_brackets_inside_strings_do_not_count(api):
    body = '{"username": "' + "[" * 100 + '", "password": "x\\"{{{{"}'
    response = api.post("/api/login/", body, content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()  # parsed, then refused as bad credentials


def test_depth_counter():
    assert not json_depth_exceeds('{"a": [1, {"b": 2}]}', 3)
    assert json_depth_exceeds('{"a": [1, {"b": [2]}]}', 3)
    assert not json_depth_exceeds('"[[[[[["', 1)
