"""A maintenance run points at its task's run with a foreign key (on the same column that
held the task id); a run without a task id now holds NULL."""

import django.db.models.deletion
from django.db import migrations, models


def blank_to_null(apps, schema_editor):
    MaintenanceRun = apps.get_model("maintenance", "MaintenanceRun")
    MaintenanceRun.objects.filter(task_id="").update(task=None)


def null_to_blank(apps, schema_editor):
    MaintenanceRun = apps.get_model("maintenance", "MaintenanceRun")
    MaintenanceRun.objects.filter(task__isnull=True).update(task_id="")


class Migration(migrations.Migration):

    dependencies = [
        ("maintenance", "0005_task_history_moves_to_operations"),
        ("operations", "0006_taskrun_task_result"),
    ]

    operations = [
        migrations.RenameField(model_name="maintenancerun", old_name="task_id", new_name="task"),
        migrations.AlterField(
            model_name="maintenancerun",
            name="task",
            field=models.ForeignKey(
                blank=True, db_column="task_id", db_constraint=False, null=True,
                on_delete=django.db.models.deletion.PROTECT, related_name="maintenance_runs",
                to="operations.taskrun", to_field="task_id"),
        ),
        migrations.RunPython(blank_to_null, null_to_blank),
    ]
