"""Extras for the periodic task admin: next run time, readable schedule, "Run now"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html_join
from kombu.exceptions import OperationalError as KombuOperationalError
from unfold.decorators import display

from maintenance.schedules import next_run_at, periodic_task_run_now, schedule_description


class PeriodicTaskExtrasMixin:
    """Mixed into the Unfold PeriodicTaskAdmin in maintenance/admin.py."""

    list_display = ("name", "enabled", "task", "schedule_human", "next_run", "last_run_at",
                    "total_run_count", "queue")
    list_select_related = ("interval", "crontab", "solar", "clocked")

    def get_actions(self, request):
        found = super().get_actions(request)
        found.pop("run_tasks", None)  # replaced by run_now, which keeps the task's options
        return found

    @display(description="Schedule")
    def schedule_human(self, obj):
        return schedule_description(obj)

    @display(description="Next run")
    def next_run(self, obj):
        when = next_run_at(obj)
        return when if when is not None else "—"

    @admin.action(description="Run selected tasks now (with their queue and options)",
                  permissions=["change"])
    def run_now(self, request, queryset):
        started = []
        for task in queryset:
            try:
                run = periodic_task_run_now(task=task, user=request.user)
            except LookupError as exc:
                messages.error(request, str(exc))
                continue
            except KombuOperationalError as exc:
                messages.error(request, f"Nothing was queued: the broker is unreachable ({exc}).")
                return
            started.append((task.name, run.queue, run.task_id))
        if started:
            messages.success(request, format_html_join(
                "; ", "{} → queue {} (task {})", started))
