from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django_celery_beat.apps import BeatConfig
from django_celery_results.apps import CeleryResultConfig


class BackofficeConfig(AppConfig):
    """Project wiring as an app: the default schedules registry and its commands."""

    name = "backoffice"
    default = True  # this module also holds the two Celery apps' configs

    def ready(self):
        from backoffice.schedules import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, dispatch_uid="backoffice.schedules.ensure")


# The admin's breadcrumbs name a model's app; these give the two Celery apps the names the
# sidebar uses for their pages (and keep everything else of their own configs).
class ScheduleAppConfig(BeatConfig):
    default = False
    verbose_name = "Schedules"


class TaskResultAppConfig(CeleryResultConfig):
    default = False
    verbose_name = "Task results"
