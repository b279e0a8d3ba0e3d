"""Schedule the sweep that enqueues emails recorded while the broker was down (every minute).

Created once; staff may change or disable it in the admin and a re-run keeps their change.
"""

from django.db import migrations

TASK_NAME = "Send pending emails (sweep)"


def create_schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = interval_model.objects.get_or_create(every=1, period="minutes")
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "notifications.tasks.sweep_pending_emails",
            "interval": every_minute,
            "description": "Enqueues welcome and password-reset emails that could not be "
            "queued (broker down) or whose message was lost.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
