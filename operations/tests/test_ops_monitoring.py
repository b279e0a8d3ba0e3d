"""The monitoring contract: `celery inspect`, `events`, `purge` and Flower work on the project."""

import base64
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from maintenance import tasks
from operations import selectors
from tests.processes import ManagedProcess, free_port, subprocess_env, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
CELERY = [sys.executable, "-m", "celery", "-A", "backoffice"]


def celery(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*CELERY, *args], env=subprocess_env(), capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("command", ["active", "registered", "stats", "active_queues"])
def test_celery_inspect_answers_for_the_worker(celery_worker, command):
    done = celery("inspect", command, "-d", celery_worker.hostname, "--timeout", "10", "--json")
    assert done.returncode == 0, done.stderr
    replies = json.loads(done.stdout)
    assert celery_worker.hostname in replies
    if command == "registered":
        assert "maintenance.tasks.echo" in replies[celery_worker.hostname]


def test_celery_purge_empties_a_queue(ops_queue):
    for n in range(3):
        tasks.echo.apply_async((n,), queue=ops_queue)
    assert selectors.queue_depths()[ops_queue] == 3
    done = celery("purge", "-f", "-Q", ops_queue)
    assert done.returncode == 0, done.stderr
    assert "Purged 3 messages" in done.stdout
    assert selectors.queue_depths()[ops_queue] == 0


def test_celery_events_dump_shows_task_events(celery_worker):
    # Events are off by default; this is what the README tells staff to run first.
    enabled = celery("control", "enable_events", "-d", celery_worker.hostname)
    assert enabled.returncode == 0 and "task events enabled" in enabled.stdout, enabled
    dump = subprocess.Popen([*CELERY, "events", "--dump"], env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(dump.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        sent: list[str] = []

        def seen():
            # A task per poll: one sent before the dump had connected would never show.
            sent.append(tasks.echo.delay("evented").id)
            return any("task succeeded" in line and any(task_id in line for task_id in sent)
                       for line in list(lines))

        wait_until(seen, timeout=60, interval=0.5, what="a task-succeeded event in the dump")
    finally:
        dump.terminate()
        dump.wait(timeout=10)


def _get(url: str, auth: str | None = None):
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def test_flower_runs_against_the_project_behind_authentication(celery_worker):
    port = free_port()
    flower = ManagedProcess(f"flower-{port}", [*CELERY, "flower", "--address=127.0.0.1",
                                               f"--port={port}", "--basic-auth=ops:s3cret"],
                            subprocess_env()).start()
    base = f"http://127.0.0.1:{port}"
    try:
        def up():
            try:
                return _get(f"{base}/healthcheck")[0] == 200
            except (urllib.error.URLError, ConnectionError):
                return False

        wait_until(up, timeout=60, interval=0.3, what="flower to answer")
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(f"{base}/api/workers")
        assert refused.value.code == 401
        status, body = wait_until(
            lambda: (lambda r: r if celery_worker.hostname in r[1] else None)(
                _get(f"{base}/api/workers?refresh=1", auth="ops:s3cret")),
            timeout=60, interval=1, what="flower to list the worker")
        assert status == 200
    finally:
        flower.stop()
