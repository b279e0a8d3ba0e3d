"""Changelist filters for the task history that never ask the database for their choices."""

from celery import current_app
from django.conf import settings
from unfold.contrib.filters.admin import DropdownFilter


class TaskNameFilter(DropdownFilter):
    """Exact task name (index-backed); the choices are the registered tasks."""

    title = "task name"
    parameter_name = "name"

    def lookups(self, request, model_admin):
        names = sorted(name for name in current_app.tasks if not name.startswith("celery."))
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(name=self.value()) if self.value() else queryset


class QueueFilter(DropdownFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(name, name) for name in settings.CELERY_QUEUE_NAMES]

    def queryset(self, request, queryset):
        return queryset.filter(queue=self.value()) if self.value() else queryset
