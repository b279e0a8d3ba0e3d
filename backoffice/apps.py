from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django_celery_beat.apps import BeatConfig
from django_celery_results.apps import CeleryResultConfig


class BackofficeConfig(AppConfig):
    """Project wiring as an app: the default schedules registry and its commands."""

    name = "backoffice"
    default = True  # this module also holds the two Celery apps' configs

    def ready(self):
        from backoffice.schedules import ensure_after_migrate

        sqlite_directories_create()
        post_migrate.connect(ensure_after_migrate, dispatch_uid="backoffice.schedules.ensure")


def sqlite_directories_create() -> None:
    """Create the directory of each SQLite database file (var/ by default) before the first
    connection, which cannot create it."""
    for database in settings.DATABASES.values():
        if database["ENGINE"] != "django.db.backends.sqlite3":
            continue
        for name in (database["NAME"], database.get("TEST", {}).get("NAME")):
            if name and str(name) != ":memory:" and not str(name).startswith("file:"):
                Path(name).parent.mkdir(parents=True, exist_ok=True)


# The admin's breadcrumbs name a model's app; these give the two Celery apps the names the
# sidebar uses for their pages (and keep everything else of their own configs).
class ScheduleAppConfig(BeatConfig):
    default = False
    verbose_name = "Schedules"


class TaskResultAppConfig(CeleryResultConfig):
    default = False
    verbose_name = "Task results"
