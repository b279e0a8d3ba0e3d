"""A database from before the operations app keeps its task history, grants and schedules."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import timezone

BEFORE_THE_MOVE = [("maintenance", "0004_email_any_address_permission"), ("operations", None)]
OLD_PRUNE = "maintenance.tasks.prune_task_history"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    if not targets:
        return None
    applied = MigrationLoader(connection).applied_migrations
    return executor.loader.project_state(list(applied)).apps  # the models as they were


def old_database(old):
    """What a database held before the move: a failed run, a group with the console's
    permissions, a user in it, and the default prune schedule under its old task name."""
    content_type = old.get_model("contenttypes", "ContentType").objects.get(
        app_label="maintenance", model="taskrun")
    permission_model = old.get_model("auth", "Permission")
    group = old.get_model("auth", "Group").objects.create(name="Night shift")
    group.permissions.add(*permission_model.objects.filter(
        content_type=content_type, codename__in=["can_retry_tasks", "view_taskrun"]))
    user = old.get_model("accounts", "User").objects.create(username="night", is_staff=True)
    user.groups.add(group)
    old.get_model("maintenance", "TaskRun").objects.create(
        task_id="before-the-move", name="maintenance.tasks.fail", queue="maintenance",
        state="FAILURE", traceback="Boom", queued_at=timezone.now())
    old.get_model("maintenance", "TaskMinuteStat").objects.create(
        minute=timezone.now().replace(second=0, microsecond=0), queue="maintenance", failed=1)
    every = old.get_model("django_celery_beat", "IntervalSchedule").objects.create(
        every=1, period="days")
    old.get_model("django_celery_beat", "PeriodicTask").objects.create(
        name="Prune (old name)", task=OLD_PRUNE, interval=every)


@pytest.mark.django_db(transaction=True)
def test_rows_permissions_and_schedules_survive_the_move(client):
    try:
        old_database(migrate(BEFORE_THE_MOVE))
    finally:
        migrate(None)

    from django_celery_beat.models import PeriodicTask

    from operations.models import TaskMinuteStat, TaskRun

    run = TaskRun.objects.get(task_id="before-the-move")
    assert (run.state, run.traceback) == ("FAILURE", "Boom")
    assert TaskRun._meta.db_table == "operations_taskrun"
    assert TaskMinuteStat.objects.get(queue="maintenance").failed == 1
    assert not ContentType.objects.filter(app_label="maintenance",
                                          model__in=["taskrun", "taskminutestat"]).exists()

    user = get_user_model().objects.get(username="night")
    assert user.has_perm("operations.can_retry_tasks")
    assert user.has_perm("operations.view_taskrun")
    assert not user.has_perm("operations.can_purge_queues")
    assert not user.has_perm("maintenance.can_retry_tasks")
    client.force_login(user)
    failed = client.get(reverse("admin:operations_failedtaskrun_changelist"))
    assert failed.status_code == 200
    assert "before-t" in failed.text

    assert PeriodicTask.objects.get(name="Prune (old name)").task == \
        "operations.tasks.prune_task_history"
    assert not PeriodicTask.objects.filter(task=OLD_PRUNE).exists()
