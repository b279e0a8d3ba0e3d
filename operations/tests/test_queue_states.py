"""The overview's rule for a queue whose oldest task has waited past the limit: paused,
draining (resumed lately, or its tasks finish) or stuck (no progress) — never "stuck" in
the same breath as a Resume that was just pressed. Real Redis, DEBUG on as `make run`."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backoffice.redis_client import redis_client
from maintenance import tasks
from operations.models import TaskMinuteStat, TaskRun
from operations.registry import RESUMED_KEY
from operations.selectors import queue_keys, queue_state
from operations.tests.ops_support import operator

pytestmark = [pytest.mark.django_db(transaction=True)]

LIMIT = 60


def _overview(client):
    response = client.get(reverse("admin:operations_overview"))
    assert response.status_code == 200
    return response.text


def test_a_queue_resumed_after_a_long_pause_drains_and_is_stuck_only_without_progress(
        client, ops_queue, settings):
    settings.DEBUG = True
    settings.OPS_QUEUE_WAIT_ALERT_SECONDS = LIMIT
    client.force_login(operator())
    client.post(reverse("admin:operations_queue_pause", args=[ops_queue]))
    waiting = tasks.echo.apply_async(("late",), queue=ops_queue).id
    TaskRun.objects.filter(task_id=waiting).update(
        queued_at=timezone.now() - timedelta(minutes=10))

    paused = _overview(client)
    assert f"Queue {ops_queue} is paused (1 waiting)." in paused
    assert "is stuck" not in paused and 'data-queue-state="paused"' in paused

    # No worker serves this queue, so the task stays waiting after Resume.
    client.post(reverse("admin:operations_queue_resume", args=[ops_queue]))
    resumed = _overview(client)
    assert f"Queue {ops_queue} is draining: 1 waiting, the oldest for 6" in resumed  # 600 s
    assert "is stuck" not in resumed and 'data-queue-state="draining"' in resumed

    # The Resume lies further back than the limit and nothing of the queue finished: stuck.
    redis_client().hset(RESUMED_KEY, ops_queue, time.time() - 2 * LIMIT)
    stuck = _overview(client)
    assert f"Queue {ops_queue} is stuck: the oldest task has waited 6" in stuck
    assert 'data-queue-state="stuck"' in stuck and "is draining" not in stuck

    # One of its tasks finished within the limit: it is being worked through again.
    TaskMinuteStat.objects.create(minute=timezone.now(), queue=ops_queue, succeeded=1)
    assert 'data-queue-state="draining"' in _overview(client)


@pytest.mark.parametrize(("queue", "resumed_ago", "finished", "state"), [
    ({"paused": True, "oldest": {"age_seconds": 900}}, None, False, "paused"),
    ({"paused": False, "oldest": None}, None, False, "ok"),
    ({"paused": False, "oldest": {"age_seconds": LIMIT}}, None, False, "ok"),
    ({"paused": False, "oldest": {"age_seconds": None}}, None, False, "ok"),
    ({"paused": False, "oldest": {"age_seconds": LIMIT + 1}}, None, False, "stuck"),
    ({"paused": False, "oldest": {"age_seconds": 900}}, LIMIT + 1, False, "stuck"),
    ({"paused": False, "oldest": {"age_seconds": 900}}, 5, False, "draining"),
    ({"paused": False, "oldest": {"age_seconds": 900}}, None, True, "draining"),
])
def test_queue_state_rule(queue, resumed_ago, finished, state):
    now = time.time()
    resumed_at = None if resumed_ago is None else now - resumed_ago
    assert queue_state(queue, limit=LIMIT, resumed_at=resumed_at, finished_since=finished,
                       now=now) == state


def test_queue_depths_are_grouped_on_the_overview(client, settings, ops_queue):
    settings.DEBUG = True
    client.force_login(operator())
    key = queue_keys(ops_queue)[0]
    redis_client().lpush(key, *[b"{}"] * 1234)  # depth only: the list is dropped afterwards
    overview = client.get(reverse("admin:operations_overview")).text
    assert 'data-depth="1234">1,234</td>' in overview
