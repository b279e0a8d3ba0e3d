from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from django_celery_beat.apps import BeatConfig
from django_celery_results.apps import CeleryResultConfig


class BackofficeConfig(AppConfig):
    """Project wiring as an app: default schedules, the dashboard's and the API docs' pages."""

    name = "backoffice"
    default = True  # this module also holds the two Celery apps' configs

    # What the project itself contributes (see backoffice.app_contributions).
    navigation = (
        {"title": _("Overview"), "order": 0, "separator": False, "collapsible": False,
         "items": ({"title": _("Dashboard"), "icon": "dashboard", "url": "admin:index"},)},
        {"title": _("API"), "order": 50,
         "items": ({"title": _("API docs"), "icon": "menu_book", "url": "api-docs"},)},
    )

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
# sidebar uses for their pages (and keep everything else of their own configs), and declare
# what they contribute (see backoffice.app_contributions).
class ScheduleAppConfig(BeatConfig):
    default = False
    verbose_name = "Schedules"

    navigation = (
        {"title": _("Schedules"), "order": 70, "items": (
            {"title": _("Periodic tasks"), "icon": "schedule",
             "url": "admin:django_celery_beat_periodictask_changelist",
             "permission": "django_celery_beat.view_periodictask"},
            {"title": _("Intervals"), "icon": "timer",
             "url": "admin:django_celery_beat_intervalschedule_changelist",
             "permission": "django_celery_beat.view_intervalschedule"},
            {"title": _("Crontabs"), "icon": "event_repeat",
             "url": "admin:django_celery_beat_crontabschedule_changelist",
             "permission": "django_celery_beat.view_crontabschedule"},
            {"title": _("Clocked"), "icon": "alarm",
             "url": "admin:django_celery_beat_clockedschedule_changelist",
             "permission": "django_celery_beat.view_clockedschedule"},
            {"title": _("Solar"), "icon": "wb_sunny",
             "url": "admin:django_celery_beat_solarschedule_changelist",
             "permission": "django_celery_beat.view_solarschedule"},
        )},
    )
    operator_permissions = (("django_celery_beat", "add_*"), ("django_celery_beat", "change_*"))


class TaskResultAppConfig(CeleryResultConfig):
    default = False
    verbose_name = "Task results"

    navigation = (
        {"title": _("Task results"), "order": 80, "items": (
            {"title": _("Task results"), "icon": "task_alt",
             "url": "admin:django_celery_results_taskresult_changelist",
             "permission": "django_celery_results.view_taskresult"},
            {"title": _("Group results"), "icon": "account_tree",
             "url": "admin:django_celery_results_groupresult_changelist",
             "permission": "django_celery_results.view_groupresult"},
        )},
    )
