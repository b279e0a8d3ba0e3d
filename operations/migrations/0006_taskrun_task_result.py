"""Each task run is tied to the result the result backend stored for it (same task id)."""

import django.db.models.deletion
from django.db import migrations, models


def tie_runs_to_their_results(apps, schema_editor):
    TaskRun = apps.get_model("operations", "TaskRun")
    TaskRun.objects.filter(task_result__isnull=True).update(task_result=models.F("task_id"))


class Migration(migrations.Migration):

    dependencies = [
        ("django_celery_results", "0014_alter_taskresult_status"),
        ("operations", "0005_worker_control_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskrun",
            name="task_result",
            field=models.OneToOneField(
                blank=True, db_constraint=False,
                help_text="The result the result backend stored for this run (same task id)",
                null=True, on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="task_run", to="django_celery_results.taskresult",
                to_field="task_id"),
        ),
        migrations.RunPython(tie_runs_to_their_results, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="taskrun",
            constraint=models.CheckConstraint(
                condition=models.Q(("task_result__isnull", True),
                                   ("task_result", models.F("task_id")), _connector="OR"),
                name="taskrun_result_same_task_id"),
        ),
    ]
