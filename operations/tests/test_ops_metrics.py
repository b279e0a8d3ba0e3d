"""/metrics: Prometheus text behind a staff token, a staff session or an allowed address."""

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from operations.models import TaskMinuteStat, TaskRun
from operations.tests.ops_support import auditor, staff_user

pytestmark = pytest.mark.django_db


def samples(text: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_anonymous_and_unknown_tokens_are_refused(client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token nope").status_code == 403
    plain = staff_user("plain")  # staff, but without the console's view permission
    token = Token.objects.create(user=plain)
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 403


def test_staff_token_gets_queue_depths_counts_and_runtimes(client):
    TaskMinuteStat.objects.create(minute=timezone.now().replace(second=0, microsecond=0),
                                  queue="metrics-test", succeeded=4, failed=1, runtime_sum=2.5,
                                  runtime_count=5)
    TaskRun.objects.create(task_id="q-1", name="x", state="QUEUED")
    token = Token.objects.create(user=auditor())
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    values = samples(response.text)
    assert values[("backoffice_broker_up", ())] == 1
    assert ("backoffice_queue_depth", (("queue", "default"),)) in values
    assert values[("backoffice_task_runs_finished_24h", (("queue", "metrics-test"),
                                                         ("state", "SUCCESS")))] == 4
    assert values[("backoffice_task_runs_finished_24h", (("queue", "metrics-test"),
                                                         ("state", "FAILURE")))] == 1
    assert values[("backoffice_task_runtime_seconds_sum_24h", (("queue", "metrics-test"),))] == 2.5
    assert values[("backoffice_task_runs_in_flight", (("state", "QUEUED"),))] == 1


def test_allowed_addresses_need_no_token(client, settings):
    settings.OPS_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.1").status_code == 403
    settings.OPS_METRICS_ALLOWED_IPS = ["not-an-address", "127.0.0.1"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_staff_session_with_the_view_permission_may_read(client):
    client.force_login(auditor())
    assert client.get("/metrics").status_code == 200


def test_flower_gate_lets_readers_read_and_only_superusers_press(client):
    assert client.get("/ops/auth").status_code == 401
    client.force_login(auditor())
    assert client.get("/ops/auth", HTTP_X_ORIGINAL_METHOD="GET").status_code == 204
    assert client.get("/ops/auth", HTTP_X_ORIGINAL_METHOD="POST").status_code == 403
    client.force_login(staff_user("plain"))
    assert client.get("/ops/auth").status_code == 403
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-xyz")
    client.force_login(root)
    assert client.get("/ops/auth", HTTP_X_ORIGINAL_METHOD="POST").status_code == 204
