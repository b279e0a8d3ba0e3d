"""The default periodic tasks: each app declares its own, one place creates them.

An app lists its defaults in its AppConfig's `schedules` (see backoffice.app_contributions).
`schedules_ensure()` creates the missing ones by name and never changes one that exists, so
staff own a default once it is created (a deleted default comes back on the next run). It
runs after every `migrate` and from `manage.py setup_schedules`.
"""

from __future__ import annotations

import json

from django.apps import apps as installed_apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from backoffice.app_contributions import contributions

BEAT_MODELS = ("PeriodicTask", "PeriodicTasks", "CrontabSchedule", "IntervalSchedule")


def default_schedules() -> list[dict]:
    """Every installed app's default schedules, in INSTALLED_APPS order; names are unique."""
    entries: dict[str, dict] = {}
    for label, entry in contributions("schedules"):
        if entry["name"] in entries:
            raise ImproperlyConfigured(
                f'default schedule "{entry["name"]}" is declared by '
                f'{entries[entry["name"]]["app"]} and {label}')
        entries[entry["name"]] = {**entry, "app": label}
    return list(entries.values())


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
    """Create the missing default periodic tasks. Returns name → "created" or "exists".

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
