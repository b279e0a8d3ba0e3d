"""A task declared the documented way — one decorator, here in this test module — is
routed to its queue, has its arguments checked, appears in the history and is guarded by
its permission, with no other file changed."""

import pytest
from celery import shared_task
from django.contrib.auth.models import Permission

from accounts.models import User
from backoffice.celery import app
from backoffice.enqueue import enqueue
from backoffice.task_arguments import (
    StrictIntegerField,
    TaskArguments,
    TaskArgumentsError,
    task_arguments_check,
)
from operations.models import TaskRun
from tests.broker import drop_waiting_messages

QUEUE = "declared-example"  # a queue no worker of the suite takes
NAME = "tests.declared.double"


class DoubleArguments(TaskArguments):
    operable = True
    permission = "reports.view_dailyreport"
    count = StrictIntegerField(min_value=1, max_value=10)


@shared_task(name=NAME, queue=QUEUE, arguments=DoubleArguments)
def double(count: int) -> int:
    return count * 2


def test_its_queue_comes_from_its_declaration_however_it_is_sent():
    assert app.amqp.router.route({}, NAME)["queue"].name == QUEUE
    assert double.queue == QUEUE
    assert app.amqp.router.route({}, "tests.declared.unknown")["queue"].name == "default"


def test_every_product_task_declares_one_of_the_queues(settings):
    app.loader.import_default_modules()
    product = ("accounts.", "notifications.", "reports.", "maintenance.", "operations.")
    queues = {name: task.queue for name, task in app.tasks.items() if name.startswith(product)}
    assert queues and set(queues.values()) <= set(settings.CELERY_QUEUE_NAMES), queues
    assert queues["notifications.tasks.drain_notification"] == "bulk"
    assert queues["notifications.tasks.send_email"] == "email"


def test_its_arguments_are_checked_when_it_runs():
    assert double(3) == 6
    for bad in (0, "3", 11):
        with pytest.raises(TaskArgumentsError, match="count"):
            double(bad)
    with pytest.raises(TaskArgumentsError, match="unknown argument"):
        double(3, extra=1)


@pytest.mark.django_db
def test_staff_need_its_permission_to_run_it():
    staff = User.objects.create_user("runner", "runner@example.com", "pw", is_staff=True)
    with pytest.raises(TaskArgumentsError, match="needs the reports.view_dailyreport"):
        task_arguments_check(user=staff, task_name=NAME, args=[3], kwargs={})

    staff.user_permissions.add(Permission.objects.get(codename="view_dailyreport"))
    staff = User.objects.get(pk=staff.pk)  # permissions are cached per instance
    task_arguments_check(user=staff, task_name=NAME, args=[3], kwargs={})
    with pytest.raises(TaskArgumentsError, match="count"):
        task_arguments_check(user=staff, task_name=NAME, args=[99], kwargs={})


@pytest.mark.django_db(transaction=True)
def test_it_appears_in_the_history_on_its_queue_once_sent():
    try:
        result = enqueue(NAME, args=[4])
        run = TaskRun.objects.get(task_id=result.id)
    finally:
        drop_waiting_messages([QUEUE])
    assert (run.name, run.queue, run.state) == (NAME, QUEUE, "QUEUED")
