from django.db import migrations, models

RESOLVE_DEPTH_LIMIT = 100


def mark_resolved_failures(apps, schema_editor):
    """Every run that a succeeded retry (directly or through retries of retries) resolved."""
    task_run = apps.get_model("operations", "TaskRun")
    succeeded_retries = task_run.objects.filter(state="SUCCESS", retry_of__isnull=False)
    for retry_of_id, finished_at in succeeded_retries.values_list("retry_of_id", "finished_at"):
        current, depth = retry_of_id, 0
        while current and depth < RESOLVE_DEPTH_LIMIT:
            task_run.objects.filter(pk=current, resolved_at__isnull=True).update(
                resolved_at=finished_at)
            current = task_run.objects.filter(pk=current).values_list(
                "retry_of_id", flat=True).first()
            depth += 1


class Migration(migrations.Migration):

    dependencies = [
        ("operations", "0003_run_time_label"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskrun",
            name="resolved_at",
            field=models.DateTimeField(blank=True, help_text="When a retry of this failed run, or of one of its retries, succeeded", null=True),
        ),
        migrations.RunPython(mark_resolved_failures, migrations.RunPython.noop),
    ]
