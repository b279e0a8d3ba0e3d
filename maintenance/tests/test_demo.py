"""`manage.py demo` runs what exists against a real worker and names what is missing."""

import io

import pytest
from django.core.management import CommandError, call_command

from maintenance.management.commands.demo import MAIN_TASKS
from operations.filters import registered_task_names
from operations.models import TaskRun
from tests.processes import free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_demo_runs_tasks_and_workflows_and_says_where_to_look(celery_worker):
    out = io.StringIO()
    call_command("demo", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "60",
                 stdout=out)
    text = out.getvalue()

    assert "Registration skipped: no web server" in text
    for name, _, _ in MAIN_TASKS:
        if name not in registered_task_names():
            assert name in text.split("Tasks not registered in this build")[1]
    for name in ("maintenance.tasks.echo", "maintenance.tasks.total", "maintenance.tasks.noop"):
        line = next(line for line in text.splitlines() if line.startswith(name))
        assert "SUCCESS" in line
    lines = text.splitlines()
    fail_line = next(line for line in lines if line.startswith("maintenance.tasks.fail"))
    assert "FAILURE" in fail_line
    assert "chain: last step" in text and "group member" in text and "chord: callback" in text
    assert "had not finished" not in text
    assert "/admin/operations/taskrun/overview/" in text
    chord_line = next(line for line in text.splitlines() if line.startswith("chord: callback"))
    chord_id = chord_line.split()[2]
    assert TaskRun.objects.get(task_id=chord_id).state == "SUCCESS"


def test_demo_refuses_plainly_when_the_broker_is_down(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(CommandError, match="broker \\(Redis\\) is unreachable"):
        call_command("demo", stdout=io.StringIO())


def test_demo_says_when_the_registration_api_is_not_there(celery_worker, live_server):
    out = io.StringIO()
    call_command("demo", "--url", live_server.url, "--timeout", "60", stdout=out)
    text = out.getvalue()
    if "notifications.tasks.send_welcome_email" in registered_task_names():
        assert "Registered user" in text  # the accounts API exists in this build
    else:
        assert f"Registration skipped: {live_server.url}/api/register/ answered 404." in text
    assert "Where to look in the admin:" in text
