"""The Workers page's controls against real worker subprocesses of the tests' own.

Every destructive control goes to a worker started here with its own hostname, consuming
only the test queue; the session's worker is never shrunk, restarted or shut down.
"""

import time

import pytest
from celery import current_app
from django.urls import reverse
from django_celery_results.models import TaskResult

from accounts.roles import OPERATORS
from maintenance import tasks
from operations.models import TaskRun
from operations.tests.ops_support import wait_for_state
from tests.people import member
from tests.processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ECHO = "maintenance.tasks.echo"


@pytest.fixture
def operator_client(client):
    client.force_login(member("op", OPERATORS))
    return client


def stats(hostname: str) -> dict:
    return current_app.control.inspect(destination=[hostname], timeout=2, limit=1).stats()[
        hostname]


def url(name: str, worker) -> str:
    return reverse(f"admin:operations_{name}", args=[worker.hostname])


def started_times(ids) -> list[float]:
    runs = [wait_for_state(task_id, "SUCCESS", timeout=60) for task_id in ids]
    return sorted(run.started_at.timestamp() for run in runs)


def test_a_rate_limit_slows_a_burst_on_the_worker_and_clearing_it_restores_speed(
        operator_client, ops_queue, control_worker):
    response = operator_client.post(url("worker_rate_limit", control_worker),
                                    {"task_name": ECHO, "rate_limit": "6/m"}, follow=True)
    assert f"Rate limit of {ECHO} on {control_worker.hostname} is now 6/m" in response.text
    page = operator_client.get(reverse("admin:operations_workers"))
    assert f'data-task="{ECHO}" data-rate="6/m"' in page.text
    assert "runtime only" in page.text

    burst = [tasks.echo.apply_async((n,), queue=ops_queue).id for n in range(3)]
    slow = started_times(burst)
    gaps = [later - earlier for earlier, later in zip(slow, slow[1:], strict=False)]
    assert all(gap >= 8 for gap in gaps), gaps  # 6/m: one every 10 s

    response = operator_client.post(url("worker_rate_limit", control_worker),
                                    {"task_name": ECHO, "clear": "1"}, follow=True)
    assert f"Rate limit of {ECHO} cleared on {control_worker.hostname}" in response.text
    assert f'data-task="{ECHO}"' not in operator_client.get(
        reverse("admin:operations_workers")).text
    fast = started_times([tasks.echo.apply_async((n,), queue=ops_queue).id for n in range(3)])
    assert fast[-1] - fast[0] < 5, fast


def test_bad_rate_limits_are_refused_and_nothing_is_sent(operator_client, control_worker):
    for data, error in [({"task_name": "no.such.task", "rate_limit": "6/m"}, "Unknown task"),
                        ({"task_name": ECHO, "rate_limit": "6/x"}, "is not a rate")]:
        response = operator_client.post(url("worker_rate_limit", control_worker), data,
                                        follow=True)
        assert error in response.text
    registered = current_app.control.inspect(destination=[control_worker.hostname], timeout=2,
                                             limit=1).registered("rate_limit")
    assert not any("rate_limit=" in line for line in registered[control_worker.hostname])
    response = operator_client.post(reverse("admin:operations_worker_rate_limit",
                                            args=["nobody@nowhere"]),
                                    {"task_name": ECHO, "rate_limit": "6/m"}, follow=True)
    assert "is not online; nothing was sent" in response.text


def test_shrink_then_grow_the_pool_and_read_the_size_back(operator_client, control_worker,
                                                         settings):
    hostname = control_worker.hostname
    assert stats(hostname)["pool"]["max-concurrency"] == 2
    response = operator_client.post(url("worker_pool_shrink", control_worker), {"n": "1"},
                                    follow=True)
    assert f"The pool of {hostname} shrinks by 1 to 1 process(es)" in response.text
    # Celery's "max-concurrency" keeps the start-up size; the process list is the pool now.
    wait_until(lambda: len(stats(hostname)["pool"]["processes"]) == 1, what="a pool of 1")

    response = operator_client.post(url("worker_pool_grow", control_worker), {"n": "2"},
                                    follow=True)
    assert "grows by 2 to 3 process(es)" in response.text
    wait_until(lambda: len(stats(hostname)["pool"]["processes"]) == 3, what="a pool of 3")
    page = operator_client.get(reverse("admin:operations_workers"))
    assert f'data-worker="{hostname}" data-pool-size="3"' in page.text

    settings.OPS_WORKER_POOL_MAX = 4
    for name, n, error in [("worker_pool_shrink", "3", "not 0"),
                           ("worker_pool_grow", "2", "not 5"),
                           ("worker_pool_grow", "0", "at least 1"),
                           ("worker_pool_grow", "x", "not a whole number"),
                           ("worker_autoscale", "", "not started with --autoscale")]:
        data = {"n": n} if name != "worker_autoscale" else {"max": "3", "min": "1"}
        response = operator_client.post(url(name, control_worker), data, follow=True)
        assert error in response.text, (name, n)
    assert len(stats(hostname)["pool"]["processes"]) == 3  # nothing was sent
    assert "has no autoscaler" in operator_client.get(reverse("admin:operations_workers")).text


def test_autoscale_range_is_set_on_an_autoscaling_worker(operator_client, autoscale_worker):
    hostname = autoscale_worker.hostname
    assert stats(hostname)["autoscaler"]["max"] == 3
    response = operator_client.post(url("worker_autoscale", autoscale_worker),
                                    {"max": "4", "min": "2"}, follow=True)
    assert "autoscale now max=4 min=2" in response.text
    assert stats(hostname)["autoscaler"] == {**stats(hostname)["autoscaler"], "max": 4,
                                             "min": 2}
    response = operator_client.post(url("worker_autoscale", autoscale_worker),
                                    {"max": "2", "min": "3"}, follow=True)
    assert "is above the maximum" in response.text
    response = operator_client.post(url("worker_pool_grow", autoscale_worker), {"n": "1"},
                                    follow=True)
    assert "scales its pool itself (--autoscale)" in response.text
    assert stats(hostname)["autoscaler"]["max"] == 4  # the refused ones sent nothing


def test_restarting_the_pool_asks_first_then_replaces_the_processes(operator_client,
                                                                    control_worker):
    hostname = control_worker.hostname
    before = set(stats(hostname)["pool"]["processes"])
    confirm = operator_client.get(url("worker_pool_restart", control_worker))
    assert "finishes it first" in confirm.text and 'data-action="pool-restart-confirm"' in \
        confirm.text
    operator_client.post(url("worker_pool_restart", control_worker))  # not confirmed
    time.sleep(1)
    assert set(stats(hostname)["pool"]["processes"]) == before

    response = operator_client.post(url("worker_pool_restart", control_worker),
                                    {"confirm": "yes"}, follow=True)
    assert "reload started" in response.text
    # Billiard replaces a process when it next waits for work; the set of pids changes.
    after = wait_until(lambda: (pids := set(stats(hostname)["pool"]["processes"])) != before
                       and pids, what="new pool pids")
    assert after - before
    assert tasks.echo.apply_async(("after",), queue="ops-test").get(timeout=30) == "after"


def test_shutting_a_worker_down_asks_first_then_the_process_exits(operator_client,
                                                                  control_worker):
    confirm = operator_client.get(url("worker_shutdown", control_worker))
    assert "delivered again to another worker" in confirm.text  # acks_late is the default
    assert control_worker.alive()
    response = operator_client.post(url("worker_shutdown", control_worker), {"confirm": "yes"},
                                    follow=True)
    assert f"Asked {control_worker.hostname} to shut down" in response.text
    wait_until(lambda: not control_worker.alive(), timeout=30, what="the worker to exit")
    assert control_worker.process.returncode == 0


def test_terminated_and_revoked_runs_are_recorded_revoked(operator_client, ops_queue,
                                                          control_worker):
    running = tasks.sleep.apply_async((30,), queue=ops_queue).id
    later = tasks.echo.apply_async(("later",), queue=ops_queue, countdown=4).id
    wait_for_state(running, "STARTED")
    page = wait_until(lambda: (text := operator_client.get(
        reverse("admin:operations_workers")).text) and f'data-task-id="{later}"' in text and text,
        what="the ETA task on the workers page")
    assert f'data-task-id="{running}"' in page

    operator_client.post(reverse("admin:operations_terminate", args=[running]),
                         {"confirm": "yes"})
    operator_client.post(reverse("admin:operations_revoke", args=[later]))
    wait_for_state(running, "REVOKED")
    time.sleep(6)  # past the ETA, and long enough for any late write from the worker
    terminated, revoked = (TaskRun.objects.get(task_id=i) for i in (running, later))
    assert (terminated.state, terminated.result) == ("REVOKED", "terminated")
    assert revoked.state == "REVOKED"
    assert TaskResult.objects.get(task_id=running).status == "REVOKED"
    assert not TaskResult.objects.filter(task_id=later, status="SUCCESS").exists()
