"""The Workers page: what it shows, who may press what, a silent worker, the broker down."""

import json
import time

import pytest
from celery import current_app
from django.urls import reverse

from accounts.roles import AUDITORS, OPERATORS
from backoffice.redis_client import redis_client
from operations.registry import WORKERS_KEY
from tests.people import member

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ECHO = "maintenance.tasks.echo"
CONTROLS = ("worker_rate_limit", "worker_pool_grow", "worker_pool_shrink", "worker_autoscale",
            "worker_pool_restart", "worker_shutdown")
NEW_PERMISSIONS = ("can_rate_limit_tasks", "can_scale_workers", "can_restart_workers",
                   "can_shutdown_workers")


def pool_pids(hostname: str) -> list[int]:
    return current_app.control.inspect(destination=[hostname], timeout=2, limit=1).stats()[
        hostname]["pool"]["processes"]


def test_the_page_shows_each_worker_in_detail_under_debug(client, settings, control_worker):
    settings.DEBUG = True  # as `make run` serves it
    client.force_login(member("op", OPERATORS))
    page = client.get(reverse("admin:operations_workers"))
    assert page.status_code == 200
    card = page.text.split(f'data-worker="{control_worker.hostname}"', 1)[1]
    assert 'data-pool-size="2"' in card
    for part in ("loadavg", "rss", "pool", "prefetch", "queues", "active", "reserved",
                 "scheduled", "rate-limits"):
        assert f'data-part="{part}"' in card, part
    assert "prefork × 2" in card and "ops-test" in card
    for action in ("rate-limit", "pool-grow", "pool-shrink", "pool-restart", "shutdown"):
        assert f'data-action="{action}"' in card, action
    overview = client.get(reverse("admin:operations_overview"))
    assert reverse("admin:operations_workers") in overview.text  # linked from the overview
    assert reverse("admin:operations_workers") in client.get("/admin/").text  # and the sidebar


def test_an_auditor_sees_the_page_and_can_press_nothing(client, control_worker):
    client.force_login(member("aud", AUDITORS))
    page = client.get(reverse("admin:operations_workers"))
    assert page.status_code == 200 and control_worker.hostname in page.text
    assert "data-action=" not in page.text
    before = pool_pids(control_worker.hostname)
    for name in CONTROLS:
        url = reverse(f"admin:operations_{name}", args=[control_worker.hostname])
        data = {"task_name": ECHO, "rate_limit": "1/h", "n": "1", "max": "3", "min": "1",
                "confirm": "yes"}
        assert client.post(url, data).status_code == 403, name
        if name in ("worker_pool_restart", "worker_shutdown"):
            assert client.get(url).status_code == 403, name
    time.sleep(1)
    assert control_worker.alive() and pool_pids(control_worker.hostname) == before
    registered = current_app.control.inspect(destination=[control_worker.hostname], timeout=2,
                                             limit=1).registered("rate_limit")
    assert not any("rate_limit=" in line for line in registered[control_worker.hostname])


def test_operators_hold_the_worker_permissions_and_auditors_do_not():
    operator, auditor = member("op", OPERATORS), member("aud", AUDITORS)
    for codename in NEW_PERMISSIONS:
        assert operator.has_perm(f"operations.{codename}")
        assert not auditor.has_perm(f"operations.{codename}")


def test_a_worker_that_does_not_answer_is_named_and_the_page_does_not_hang(client, settings):
    settings.OPS_INSPECT_TIMEOUT = 0.5
    ghost = "ghost@nowhere"
    redis_client().hset(WORKERS_KEY, ghost, json.dumps({
        "hostname": ghost, "queues": ["default"], "heartbeat_at": time.time() + 60,
        "started_at": time.time()}))
    try:
        client.force_login(member("op", OPERATORS))
        started = time.monotonic()
        page = client.get(reverse("admin:operations_workers"))
        assert time.monotonic() - started < 5
        assert f'data-silent="{ghost}"' in page.text and "did not answer within 0.5 s" in \
            page.text
        response = client.post(reverse("admin:operations_worker_pool_grow", args=[ghost]),
                               {"n": "1"}, follow=True)
        assert f"Worker {ghost} did not answer" in response.text
    finally:
        redis_client().hdel(WORKERS_KEY, ghost)


def test_with_the_broker_down_the_page_says_so_and_nothing_is_sent(client, control_worker,
                                                                   broker_down):
    client.force_login(member("op", OPERATORS))
    page = client.get(reverse("admin:operations_workers"))
    assert page.status_code == 200
    assert "The broker (Redis) is unreachable" in page.text and 'id="workers-broker-down"' in \
        page.text
    for name, data in [("worker_rate_limit", {"task_name": ECHO, "rate_limit": "6/m"}),
                       ("worker_pool_shrink", {"n": "1"}),
                       ("worker_pool_restart", {"confirm": "yes"}),
                       ("worker_shutdown", {"confirm": "yes"})]:
        url = reverse(f"admin:operations_{name}", args=[control_worker.hostname])
        response = client.post(url, data, follow=True)
        assert "The broker (Redis) is unreachable" in response.text, name
    broker_down.restore()
    assert control_worker.alive() and len(pool_pids(control_worker.hostname)) == 2
    registered = current_app.control.inspect(destination=[control_worker.hostname], timeout=2,
                                             limit=1).registered("rate_limit")
    assert not any("rate_limit=" in line for line in registered[control_worker.hostname])
