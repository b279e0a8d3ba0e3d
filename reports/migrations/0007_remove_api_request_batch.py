"""The request log is written by the web process itself: no batch table, no drain schedule."""

from django.db import migrations

DRAIN_TASK = "reports.tasks.drain_api_request_log"


def remove_drain_schedule(apps, schema_editor):
    periodic_tasks = apps.get_model("django_celery_beat", "PeriodicTask")
    if periodic_tasks.objects.filter(task=DRAIN_TASK).delete()[0]:
        from django.utils import timezone

        # Tell a running beat to reload its schedule.
        apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
            ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0006_api_request_batch"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.DeleteModel(name="ApiRequestBatch"),
        migrations.RunPython(remove_drain_schedule, migrations.RunPython.noop),
    ]
