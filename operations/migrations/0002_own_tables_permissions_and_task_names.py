"""The console's tables, permissions and task names under the operations app.

- The tables are renamed to operations_taskrun and operations_taskminutestat (rows kept).
- The content types of TaskRun, FailedTaskRun and TaskMinuteStat move to the operations
  app, so every Permission row (and every group or user holding one) stays as it is and
  now reads `operations.<codename>`.
- Periodic tasks (and recorded runs) of the tasks that moved here get the new task names.
"""

from django.db import migrations

MODELS = ("taskrun", "failedtaskrun", "taskminutestat")
MOVED_TASKS = {
    "maintenance.tasks.prune_task_history": "operations.tasks.prune_task_history",
}


def _move_content_types(apps, source: str, target: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType")
    permissions = apps.get_model("auth", "Permission")
    for model in MODELS:
        old = content_types.objects.filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = content_types.objects.filter(app_label=target, model=model).first()
        if new is None:
            old.app_label = target
            old.save(update_fields=["app_label"])
            continue
        # Both exist (created by a `migrate` in between): keep the new row, carry over the
        # permissions it lacks, so no grant is lost.
        have = set(permissions.objects.filter(content_type=new).values_list("codename",
                                                                            flat=True))
        permissions.objects.filter(content_type=old).exclude(codename__in=have).update(
            content_type=new)
        for permission in permissions.objects.filter(content_type=old):
            twin = permissions.objects.get(content_type=new, codename=permission.codename)
            for group in permission.group_set.all():
                group.permissions.add(twin)
            for user in permission.user_set.all():
                user.user_permissions.add(twin)
        old.delete()


def _rename_tasks(apps, names: dict[str, str]) -> None:
    from django.utils import timezone

    periodic_tasks = apps.get_model("django_celery_beat", "PeriodicTask")
    task_runs = apps.get_model("operations", "TaskRun")
    renamed = 0
    for old, new in names.items():
        renamed += periodic_tasks.objects.filter(task=old).update(task=new)
        task_runs.objects.filter(name=old).update(name=new)
    if renamed:  # a running beat reloads its schedule when this changes
        apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
            ident=1, defaults={"last_update": timezone.now()})


def _clear_content_type_cache() -> None:
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


def forwards(apps, schema_editor):
    _move_content_types(apps, "maintenance", "operations")
    _rename_tasks(apps, MOVED_TASKS)
    _clear_content_type_cache()


def backwards(apps, schema_editor):
    _move_content_types(apps, "operations", "maintenance")
    _rename_tasks(apps, {new: old for old, new in MOVED_TASKS.items()})
    _clear_content_type_cache()


class Migration(migrations.Migration):

    dependencies = [
        ("operations", "0001_initial"),
        ("maintenance", "0005_task_history_moves_to_operations"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterModelTable(name="taskrun", table=None),
        migrations.AlterModelTable(name="taskminutestat", table=None),
        migrations.RunPython(forwards, backwards),
    ]
