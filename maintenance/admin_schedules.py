"""Extras for the periodic task admin: next run time, readable schedule, "Run now", and the
check of who may schedule which task with which arguments (backoffice.task_arguments)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from unfold.decorators import action, display

from backoffice.admin_site import dialog_action_done
from backoffice.enqueue import QueueUnavailable
from backoffice.message_options import header_problems, parsed_headers, routing_problems
from backoffice.task_arguments import TaskArgumentsError
from backoffice.task_links import task_run_url
from maintenance.periodic_tasks import (
    interval_refusal,
    next_run_at,
    periodic_task_check,
    periodic_task_options_check,
    periodic_task_run_now,
    schedule_description,
)

SHOWN_CHARS = 40


def _shortened(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text` cut to `limit` characters, the whole of it in the tooltip."""
    if len(text) <= limit:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[:limit - 1])


class PeriodicTaskArgumentsFormMixin:
    """Refuses a task the editing user may not run, or arguments the task does not accept.

    `user` is set by the admin's get_form; nothing is saved when the check fails.
    """

    user = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A saved task shows as selected when it is registered, else as custom text.
        stored = self.instance.task if self.instance.pk else ""
        choices = dict(self.fields["regtask"].widget.choices)
        if stored and stored in choices and not self.is_bound:
            self.initial["regtask"] = stored

    def clean(self):
        data = super().clean()
        self._check_message_options(data)
        interval = data.get("interval")
        if self.user is not None and interval is not None:
            refused = interval_refusal(user=self.user, every=interval.every,
                                       period=interval.period)
            if refused:
                self.add_error("interval", refused)
        if self.user is None or any(name in self.errors for name in ("task", "args", "kwargs")):
            return data
        try:
            periodic_task_check(user=self.user, task_name=data.get("task") or "",
                                args=json.loads(data.get("args") or "[]"),
                                kwargs=json.loads(data.get("kwargs") or "{}"))
        except TaskArgumentsError as exc:
            raise forms.ValidationError(f'{data.get("task")}: {exc}') from exc
        return data

    def _check_message_options(self, data) -> None:
        """Headers and routing from the allow-list only, for every user."""
        if "headers" in self.errors:
            return
        try:
            headers = parsed_headers(data.get("headers"))
        except ValueError:
            self.add_error("headers", "Enter a JSON object, e.g. {}.")
            return
        for problem in header_problems(headers):
            self.add_error("headers", problem)
        for name in ("queue", "exchange", "routing_key", "priority"):
            if name in self.errors:
                continue
            for problem in routing_problems(**{name: data.get(name)}):
                self.add_error(name, problem)


class IntervalScheduleForm(forms.ModelForm):
    """Refuses staff other than superusers an interval shorter than the minimum."""

    user = None

    def clean(self):
        data = super().clean()
        if self.user is not None and data.get("every") is not None and data.get("period"):
            refused = interval_refusal(user=self.user, every=data["every"],
                                       period=data["period"])
            if refused:
                self.add_error("every", refused)
        return data


class UserFormMixin:
    """Hands the requesting user to the form (as `form.user`) for its checks."""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})


def _paused_queues() -> set[str]:
    from redis.exceptions import RedisError

    from operations.registry import paused_queues

    try:
        return set(paused_queues())
    except RedisError:
        return set()


class PeriodicTaskExtrasMixin(UserFormMixin):
    """Mixed into the Unfold PeriodicTaskAdmin in maintenance/admin.py."""

    list_display = ("name_short", "task_short", "schedule_human", "enabled", "last_run_at",
                    "next_run")
    list_display_links = ("name_short",)
    list_select_related = ("interval", "crontab", "solar", "clocked")
    actions_detail = ("run_now_detail",)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "next_run")

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(name, dict(options)) for name, options in
                     super().get_fieldsets(request, obj)]
        for _name, options in fieldsets:
            if "last_run_at" in options["fields"]:
                fields = list(options["fields"])
                fields.insert(fields.index("last_run_at") + 1, "next_run")
                options["fields"] = tuple(fields)
        return fieldsets

    def get_actions(self, request):
        found = super().get_actions(request)
        found.pop("run_tasks", None)  # replaced by run_now, which keeps the task's options
        return found

    @display(description="Name", ordering="name")
    def name_short(self, obj):
        return _shortened(obj.name)

    @display(description="Task", ordering="task")
    def task_short(self, obj):
        # The module path repeats the app; the function name is what tells tasks apart.
        return format_html('<span title="{}">{}</span>', obj.task, obj.task.rsplit(".", 1)[-1])

    @display(description="Schedule")
    def schedule_human(self, obj):
        return _shortened(schedule_description(obj))

    @display(description="Next run")
    def next_run(self, obj):
        when = next_run_at(obj) if obj is not None and obj.pk else None
        if when is None:
            return "—"
        return format_html('<span class="whitespace-nowrap">{}</span>',
                           f"{timezone.localtime(when):%Y-%m-%d %H:%M %Z}")

    def _runnable(self, request, queryset) -> list[int]:
        """Ids of the selected tasks this user may run as they stand; says why not for others."""
        allowed = []
        for task in queryset:
            try:
                periodic_task_check(user=request.user, task_name=task.task,
                                    args=json.loads(task.args or "[]"),
                                    kwargs=json.loads(task.kwargs or "{}"))
                periodic_task_options_check(task)
                refused = task.interval_id and interval_refusal(
                    user=request.user, every=task.interval.every, period=task.interval.period)
                if refused:
                    raise TaskArgumentsError(refused)
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

    def _run_now(self, request, tasks) -> bool:
        """Send each task now; one message per outcome, each sent run linked to its page in
        the task history. False when the broker is unreachable (nothing more is tried)."""
        started = []
        for task in tasks:
            try:
                run = periodic_task_run_now(task=task, user=request.user)
            except (LookupError, TaskArgumentsError) as exc:
                messages.error(request, f"{task.name}: nothing was sent: {exc}")
                continue
            except QueueUnavailable as exc:
                messages.error(request, str(exc))
                return False
            started.append((task.name, run.queue, task_run_url(run.task_id), run.task_id))
        if started:
            messages.success(request, format_html_join(
                "; ", '{} → queue {} (task <a class="text-primary-600 underline" href="{}">{}</a>)',
                started))
            for queue in sorted({queue for _, queue, _, _ in started} & _paused_queues()):
                messages.warning(request, f"Queue {queue} is paused: what was sent to it waits "
                                 "until the queue is resumed (Operations → Overview).")
        return True

    @admin.action(description="Run selected tasks now (with their queue and options)",
                  permissions=["change"])
    def run_now(self, request, queryset):
        self._run_now(request, queryset)

    @action(description="Run now", url_path="run-now", permissions=["change"], icon="play_arrow",
            dialog={"title": "Run this task now?",
                    "description": "It is sent at once with its own arguments, queue and "
                                   "options; its schedule stays as it is.",
                    "form_submit_text": "Run now"})
    def run_now_detail(self, request, form, object_id):
        task = get_object_or_404(self.get_queryset(request), pk=object_id)
        self._run_now(request, [task])
        return dialog_action_done(
            request, reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
