"""Extras for the periodic task admin: next run time, readable schedule, "Run now", and the
check of who may schedule which task with which arguments (backoffice.task_arguments)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html_join
from kombu.exceptions import OperationalError as KombuOperationalError
from unfold.decorators import display

from backoffice.task_arguments import TaskArgumentsError
from maintenance.schedules import (
    next_run_at,
    periodic_task_check,
    periodic_task_run_now,
    schedule_description,
)


class PeriodicTaskArgumentsFormMixin:
    """Refuses a task the editing user may not run, or arguments the task does not accept.

    `user` is set by the admin's get_form; nothing is saved when the check fails.
    """

    user = None

    def clean(self):
        data = super().clean()
        if self.user is None or any(name in self.errors for name in ("task", "args", "kwargs")):
            return data
        try:
            periodic_task_check(user=self.user, task_name=data.get("task") or "",
                                args=json.loads(data.get("args") or "[]"),
                                kwargs=json.loads(data.get("kwargs") or "{}"))
        except TaskArgumentsError as exc:
            raise forms.ValidationError(f'{data.get("task")}: {exc}') from exc
        return data


class PeriodicTaskExtrasMixin:
    """Mixed into the Unfold PeriodicTaskAdmin in maintenance/admin.py."""

    list_display = ("name", "enabled", "task", "schedule_human", "next_run", "last_run_at",
                    "total_run_count", "queue")
    list_select_related = ("interval", "crontab", "solar", "clocked")

    def get_actions(self, request):
        found = super().get_actions(request)
        found.pop("run_tasks", None)  # replaced by run_now, which keeps the task's options
        return found

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    @display(description="Schedule")
    def schedule_human(self, obj):
        return schedule_description(obj)

    @display(description="Next run")
    def next_run(self, obj):
        when = next_run_at(obj)
        return when if when is not None else "—"

    def _runnable(self, request, queryset) -> list[int]:
        """Ids of the selected tasks this user may run as they stand; says why not for others."""
        allowed = []
        for task in queryset:
            try:
                periodic_task_check(user=request.user, task_name=task.task,
                                    args=json.loads(task.args or "[]"),
                                    kwargs=json.loads(task.kwargs or "{}"))
            except (TaskArgumentsError, ValueError) as exc:
                messages.error(request, f"{task.name} left as it was: {exc}")
                continue
            allowed.append(task.pk)
        return allowed

    # django-celery-beat's own actions declare no permission: the same ones, each behind
    # "change", and enabling only what the user may run.
    @admin.action(description="Enable selected tasks", permissions=["change"])
    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, queryset.filter(pk__in=self._runnable(
            request, queryset.filter(enabled=False))))

    @admin.action(description="Disable selected tasks", permissions=["change"])
    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, queryset)

    @admin.action(description="Toggle activity of selected tasks", permissions=["change"])
    def toggle_tasks(self, request, queryset):
        enabled = list(queryset.filter(enabled=True).values_list("pk", flat=True))
        runnable = self._runnable(request, queryset.filter(enabled=False))
        return super().toggle_tasks(request, queryset.filter(pk__in=[*enabled, *runnable]))

    @admin.action(description="Run selected tasks now (with their queue and options)",
                  permissions=["change"])
    def run_now(self, request, queryset):
        started = []
        for task in queryset:
            try:
                run = periodic_task_run_now(task=task, user=request.user)
            except (LookupError, TaskArgumentsError) as exc:
                messages.error(request, f"{task.name}: nothing was sent: {exc}")
                continue
            except KombuOperationalError as exc:
                messages.error(request, f"Nothing was queued: the broker is unreachable ({exc}).")
                return
            started.append((task.name, run.queue, run.task_id))
        if started:
            messages.success(request, format_html_join(
                "; ", "{} → queue {} (task {})", started))
