"""Worker processes keep their database connection between tasks and replace a broken one."""

import pytest
from django.db import connection

from maintenance import tasks
from operations.models import TaskRun
from tests.processes import CeleryWorker, wait_until

QUEUE = "connections-test"  # a queue of its own: no other worker of the suite takes these
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def worker_backends() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return {pid for (pid,) in cursor.fetchall()}


def run_echo(value):
    result = tasks.echo.apply_async((value,), queue=QUEUE)
    assert result.get(timeout=60) == value
    wait_until(lambda: TaskRun.objects.filter(task_id=result.id, state="SUCCESS").exists(),
               what="the run recorded")


def test_a_connection_the_database_server_dropped_is_replaced_before_the_next_task():
    if connection.vendor != "postgresql":
        pytest.skip("needs a database server that can drop a client's connection")
    others = worker_backends()  # this session's other connections (a live server's): kept
    worker = CeleryWorker(concurrency=1, queues=(QUEUE,)).start()
    try:
        run_echo("first")
        before = worker_backends() - others
        run_echo("second")
        assert worker_backends() - others == before  # the same connections served the second

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE pid = ANY(%s)", [list(before)])
        run_echo("after the drop")
        assert not worker_backends() & before
    finally:
        worker.stop()
