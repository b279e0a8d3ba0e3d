"""Changelist filters for task lists that never ask the database for their choices."""

from django.conf import settings
from django.contrib import admin
from unfold.contrib.filters.admin import DropdownFilter

from backoffice.celery import app, import_task_modules
from backoffice.housekeeping import housekeeping_task_names
from operations.selectors import unresolved_failures


def registered_task_names() -> list[str]:
    """Every task of the project (its apps' tasks modules imported once per process)."""
    import_task_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


class _TaskKind:
    """Housekeeping runs (sweeps, pruning, cleanup) are hidden unless asked for.

    Filters on the task name column. Picking a task by name or searching shows what it
    finds, housekeeping or not.
    """

    title = "kind"
    parameter_name = "kind"
    name_field = "name"
    narrowing_parameters = ("name", "q")
    DEFAULT_LABEL = "Without housekeeping"
    HOUSEKEEPING, ALL = "housekeeping", "all"

    def lookups(self, request, model_admin):
        return [(self.HOUSEKEEPING, "Housekeeping only"), (self.ALL, "All")]

    def queryset(self, request, queryset):
        names = {f"{self.name_field}__in": housekeeping_task_names()}
        if self.value() == self.HOUSEKEEPING:
            return queryset.filter(**names)
        if self.value() == self.ALL or any(request.GET.get(p) for p in self.narrowing_parameters):
            return queryset
        return queryset.exclude(**names)


class TaskKindFilter(_TaskKind, DropdownFilter):
    """The kind as a dropdown, for lists whose filters are submitted as one form."""

    all_option = ["", _TaskKind.DEFAULT_LABEL]


class TaskResultKindFilter(_TaskKind, admin.SimpleListFilter):
    """The kind as links, for django-celery-results' task results list."""

    name_field = "task_name"
    narrowing_parameters = ("task_name", "periodic_task_name", "q")

    def choices(self, changelist):
        yield {"selected": self.value() is None, "display": self.DEFAULT_LABEL,
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}


class FailureResolutionFilter(DropdownFilter):
    """Failed runs by what became of them: the unresolved ones unless another is chosen."""

    title = "resolution"
    parameter_name = "resolution"
    RESOLVED, DISCARDED, ALL = "resolved", "discarded", "all"
    all_option = ["", "Unresolved"]

    def lookups(self, request, model_admin):
        return [(self.RESOLVED, "Resolved by a retry"), (self.DISCARDED, "Discarded"),
                (self.ALL, "All failures")]

    def queryset(self, request, queryset):
        if self.value() == self.RESOLVED:
            return queryset.filter(resolved_at__isnull=False)
        if self.value() == self.DISCARDED:
            return queryset.filter(discarded_at__isnull=False)
        if self.value() == self.ALL:
            return queryset
        return unresolved_failures(queryset)


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
