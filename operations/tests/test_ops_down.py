"""Broker or workers down: the console says so plainly and quickly; it never hangs or 500s,
and a task that could not be sent leaves no history.

Speed is measured in bench/; here a short pytest timeout only guards against a hang.
"""

import json
import time

import pytest
import redis
from django.urls import reverse
from kombu.exceptions import OperationalError

from maintenance.tasks import echo
from operations.models import TaskRun
from operations.registry import WORKERS_KEY
from operations.tests.ops_support import operator

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(30), pytest.mark.slow]


@pytest.fixture
def own_redis(settings, private_redis):
    """The console reads a Redis of this test's own: no worker has ever announced itself."""
    settings.REDIS_URL = private_redis.url
    return redis.Redis.from_url(private_redis.url, decode_responses=True)


def test_broker_down_every_page_answers_and_says_so(client, broker_down):
    client.force_login(operator())
    run = TaskRun.objects.create(task_id="f-1", name="maintenance.tasks.fail", state="FAILURE")
    overview = client.get(reverse("admin:operations_overview"))
    assert overview.status_code == 200
    assert "The broker (Redis) is unreachable" in overview.text
    assert "Queue depths are unknown while the broker is unreachable" in overview.text
    partial = client.get(reverse("admin:operations_overview") + "?partial=1")
    assert partial.status_code == 200 and "unreachable" in partial.text
    for url in (reverse("admin:operations_taskrun_changelist"),
                reverse("admin:operations_failedtaskrun_changelist"),
                reverse("admin:operations_workflow", args=[run.task_id])):
        assert client.get(url).status_code == 200
    purge = client.get(reverse("admin:operations_queue_purge", args=["default"]))
    assert purge.status_code == 200 and "unreachable" in purge.text


def test_broker_down_actions_refuse_and_change_nothing(client, broker_down):
    client.force_login(operator())
    run = TaskRun.objects.create(task_id="f-2", name="maintenance.tasks.fail", state="FAILURE")
    for url in (reverse("admin:operations_retry", args=[run.task_id]),
                reverse("admin:operations_queue_purge", args=["default"]),
                reverse("admin:operations_queue_pause", args=["default"])):
        response = client.post(url, {"confirm": "yes"}, follow=True)
        assert response.status_code == 200
        assert "The broker (Redis) is unreachable" in response.text
        assert "nothing was changed" in response.text
    run.refresh_from_db()
    assert run.retried_as is None
    assert not TaskRun.objects.filter(retry_of=run).exists()


def test_a_task_that_could_not_be_sent_leaves_no_history(broker_down):
    with pytest.raises(OperationalError, match="Connection refused"):
        echo.delay("never sent")
    assert not TaskRun.objects.exists()


def test_workers_down_the_overview_says_no_worker_is_online(client, own_redis):
    client.force_login(operator())
    overview = client.get(reverse("admin:operations_overview"))
    assert overview.status_code == 200
    assert "No worker is online" in overview.text
    assert 'id="ops-no-workers"' in overview.text

    gone = {"hostname": "gone@host", "queues": ["default"], "heartbeat_at": time.time() - 120,
            "started_at": time.time() - 600, "active": 0, "processed": 5}
    own_redis.hset(WORKERS_KEY, "gone@host", json.dumps(gone))
    overview = client.get(reverse("admin:operations_overview"))
    assert 'data-worker="gone@host" data-online="0"' in overview.text
    assert "No worker is online: nothing is being run." in overview.text
