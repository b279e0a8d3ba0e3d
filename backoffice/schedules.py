"""The registry of default periodic tasks: each app declares its own, one place creates them.

An app lists its defaults in `<app>/schedules.py` as `DEFAULT_SCHEDULES`, each entry
{"name", "task", "crontab": {...} or "interval": {"every", "period"}, "description"}.
`schedules_ensure()` creates the missing ones by name and never changes one that exists, so
staff own a default once it is created (a deleted default comes back on the next run). It
runs after every `migrate` and from `manage.py setup_schedules`.
"""

from __future__ import annotations

import importlib
import json

from django.apps import apps as installed_apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

MODULE_NAME = "schedules"
BEAT_MODELS = ("PeriodicTask", "PeriodicTasks", "CrontabSchedule", "IntervalSchedule")


def default_schedules() -> list[dict]:
    """Every installed app's DEFAULT_SCHEDULES, in INSTALLED_APPS order; names are unique."""
    entries: dict[str, dict] = {}
    for config in installed_apps.get_app_configs():
        if not module_has_submodule(config.module, MODULE_NAME):
            continue
        module = importlib.import_module(f"{config.name}.{MODULE_NAME}")
        for entry in getattr(module, "DEFAULT_SCHEDULES", ()):
            if entry["name"] in entries:
                raise ImproperlyConfigured(
                    f'default schedule "{entry["name"]}" is declared by '
                    f'{entries[entry["name"]]["app"]} and {config.label}')
            entries[entry["name"]] = {**entry, "app": config.label}
    return list(entries.values())


def task_exists(dotted: str) -> bool:
    """Whether `module.function` can be imported (a task of an app not installed yet: no)."""
    module_name, _, function = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    return hasattr(module, function)


def _schedule(spec: dict, *, crontabs, intervals) -> dict:
    if "crontab" in spec:
        fields = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*",
                  "month_of_year": "*", **spec["crontab"], "timezone": settings.TIME_ZONE}
        # Not get_or_create: staff may have made duplicates, which must not break this.
        crontab = crontabs.filter(**fields).first() or crontabs.create(**fields)
        return {"crontab": crontab}
    interval = intervals.filter(**spec["interval"]).first() or intervals.create(
        **spec["interval"])
    return {"interval": interval}


def schedules_ensure(*, apps=None, using: str = DEFAULT_DB_ALIAS) -> dict[str, str]:
    """Create the missing default periodic tasks. Returns name → created/exists/skipped.

    `apps` is the migration state's registry after `migrate`, else the installed apps.
    """
    apps = apps or installed_apps

    def manager(name):
        return apps.get_model("django_celery_beat", name).objects.using(using)

    tasks, crontabs, intervals = (manager("PeriodicTask"), manager("CrontabSchedule"),
                                  manager("IntervalSchedule"))
    outcome = {}
    for spec in default_schedules():
        if tasks.filter(name=spec["name"]).exists():
            outcome[spec["name"]] = "exists"
        elif not task_exists(spec["task"]):
            outcome[spec["name"]] = "skipped (task not installed)"
        else:
            tasks.create(name=spec["name"], task=spec["task"], args=json.dumps([]),
                         kwargs=json.dumps({}), description=spec["description"],
                         **_schedule(spec, crontabs=crontabs, intervals=intervals))
            outcome[spec["name"]] = "created"
    if "created" in outcome.values():  # a running beat reloads its schedule when this changes
        manager("PeriodicTasks").update_or_create(ident=1,
                                                  defaults={"last_update": timezone.now()})
    return outcome


def _beat_tables_exist(apps, using: str) -> bool:
    try:
        tables = {apps.get_model("django_celery_beat", name)._meta.db_table
                  for name in BEAT_MODELS}
    except LookupError:  # django_celery_beat is not migrated in this state
        return False
    return tables <= set(connections[using].introspection.table_names())


def ensure_after_migrate(sender, using=DEFAULT_DB_ALIAS, apps=None, **kwargs) -> None:
    """post_migrate: once per `migrate` (after the last app), when beat's tables exist.

    A partial `migrate` (e.g. one app to an old migration on a new database) may leave
    django_celery_beat's tables uncreated; nothing is done then.
    """
    with_models = [config for config in installed_apps.get_app_configs()
                   if config.models_module is not None]
    if sender is not with_models[-1]:
        return
    apps = apps or installed_apps
    if _beat_tables_exist(apps, using):
        schedules_ensure(apps=apps, using=using)
