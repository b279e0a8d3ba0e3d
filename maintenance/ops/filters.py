"""Changelist filters for the task history that never ask the database for their choices."""

from functools import cache

from celery import current_app
from django.conf import settings
from unfold.contrib.filters.admin import DropdownFilter


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
