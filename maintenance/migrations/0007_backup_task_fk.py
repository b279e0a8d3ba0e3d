"""A backup points at the run that wrote it with a foreign key (on the same column that held
the task id); a backup with no task id, or whose run no longer exists, now holds NULL."""

import django.db.models.deletion
from django.db import migrations, models


def unknown_runs_to_null(apps, schema_editor):
    Backup = apps.get_model("maintenance", "Backup")
    TaskRun = apps.get_model("operations", "TaskRun")
    Backup.objects.filter(task_id="").update(task=None)
    (Backup.objects.filter(task__isnull=False)
     .exclude(task_id__in=TaskRun.objects.values("task_id")).update(task=None))


def null_to_blank(apps, schema_editor):
    Backup = apps.get_model("maintenance", "Backup")
    Backup.objects.filter(task__isnull=True).update(task_id="")


class Migration(migrations.Migration):

    dependencies = [
        ("maintenance", "0006_maintenance_run_task_fk"),
        ("operations", "0006_taskrun_task_result"),
    ]

    operations = [
        migrations.RenameField(model_name="backup", old_name="task_id", new_name="task"),
        # No database constraint, so an id whose run is gone cannot fail this step; the
        # next one clears such ids.
        migrations.AlterField(
            model_name="backup",
            name="task",
            field=models.ForeignKey(
                blank=True, db_column="task_id", db_constraint=False, null=True,
                on_delete=django.db.models.deletion.PROTECT, related_name="backups",
                to="operations.taskrun", to_field="task_id"),
        ),
        migrations.RunPython(unknown_runs_to_null, null_to_blank),
    ]
