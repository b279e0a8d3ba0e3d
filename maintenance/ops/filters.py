"""Changelist filters for the task history that never ask the database for their choices."""

from functools import cache

from celery import current_app
from django.conf import settings
from django.utils import timezone
from unfold.contrib.filters.admin import DropdownFilter, RangeDateTimeFilter
from unfold.utils import parse_datetime_str


@cache
def _import_task_modules() -> None:
    current_app.loader.import_default_modules()  # what a worker does at start


def registered_task_names() -> list[str]:
    """Every task of the project (its apps' tasks modules imported once per process)."""
    _import_task_modules()
    return sorted(name for name in current_app.tasks if not name.startswith("celery."))


class TaskNameFilter(DropdownFilter):
    """Exact task name (index-backed); the choices are the registered tasks."""

    title = "task name"
    parameter_name = "name"

    def lookups(self, request, model_admin):
        return [(name, name) for name in registered_task_names()]

    def queryset(self, request, queryset):
        return queryset.filter(name=self.value()) if self.value() else queryset


class QueueFilter(DropdownFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(name, name) for name in settings.CELERY_QUEUE_NAMES]

    def queryset(self, request, queryset):
        return queryset.filter(queue=self.value()) if self.value() else queryset


class QueuedAtFilter(RangeDateTimeFilter):
    """Unfold's date-time range, read in the current time zone (Unfold passes naive values)."""

    def queryset(self, request, queryset):
        filters = {}
        for side, lookup in (("from", "gte"), ("to", "lte")):
            day = self.used_parameters.get(f"{self.parameter_name}_{side}_0")
            clock = self.used_parameters.get(f"{self.parameter_name}_{side}_1") or "00:00"
            value = parse_datetime_str(f"{day} {clock}") if day else None
            if value is not None:
                filters[f"{self.parameter_name}__{lookup}"] = timezone.make_aware(value)
        return queryset.filter(**filters)
