"""Task history and failed-task lists in the admin. Every button posts to an ops view."""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django_celery_results.models import TaskResult
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.paginator import InfinitePaginator

from accounts.admin_mixins import RecordAdminMixin
from backoffice.admin_filters import LocalDateTimeRangeFilter
from backoffice.readable import readable_field, readable_line
from operations import selectors, services, views, views_workers
from operations.filters import (
    FailureResolutionFilter,
    QueueFilter,
    TaskKindFilter,
    TaskNameFilter,
    registered_task_names,
)
from operations.models import FailedTaskRun, TaskRun
from operations.permissions import ACTION_PERMISSIONS, VIEW_PERMISSION, allowed_actions

STATE_COLOURS = {
    TaskRun.State.QUEUED: "info", TaskRun.State.STARTED: "primary",
    TaskRun.State.RETRY: "warning", TaskRun.State.SUCCESS: "success",
    TaskRun.State.FAILURE: "danger", TaskRun.State.REVOKED: "default",
}


TIME_FORMAT = "Y-m-d H:i:s"
SHORT_ID = re.compile(r"[0-9a-f][0-9a-f-]{7,35}")


def state_badge(state: str) -> str:
    return format_html('<span class="bo-state bo-state-{}" data-state="{}">{}</span>',
                       STATE_COLOURS.get(state, "default"), state, state)


def time_column(field: str, label: str):
    """An admin column or detail field showing a time to the second, in the local zone."""
    @admin.display(description=label, ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        return dateformat.format(timezone.localtime(value), TIME_FORMAT) if value else "—"

    return column


class TaskRunAdminBase(RecordAdminMixin, ModelAdmin):
    deletable = False
    list_display = ("short_id", "name", "queue", "state_display", "queued_at_display",
                    "runtime_display", "worker", "retries")
    list_filter = (TaskKindFilter, ("state", ChoicesDropdownFilter), TaskNameFilter, QueueFilter,
                   ("queued_at", LocalDateTimeRangeFilter))
    list_filter_submit = True
    search_fields = ("=task_id", "args", "kwargs")
    search_help_text = ("A task id or its first 8 characters (as the list shows them), or "
                        "text in the arguments")
    show_full_result_count = False
    paginator = InfinitePaginator
    list_disable_select_all = True  # the paginator never counts: no "Select all N"
    list_per_page = 50
    date_hierarchy = None
    list_select_related = ("retried_as",)
    readonly_fields = ("task_id", "name", "queue", "state_display", "args_display",
                       "kwargs_display", "options", "worker", "retries", "result_display",
                       "traceback_display", "queued_at_display",
                       "started_at_display", "finished_at_display", "runtime", "parent_id",
                       "root_id", "group_id", "retry_of_link", "retried_as_link",
                       "discarded_at_display", "resolved_at_display", "task_result_link",
                       "pointed_at_by")

    class Media:
        js = ("backoffice/js/ops.js",)
        css = {"all": ("backoffice/css/ops.css",)}

    def _has(self, request, name: str) -> bool:
        return request.user.has_perm(ACTION_PERMISSIONS[name])

    def has_retry_permission(self, request):
        return self._has(request, "retry")

    def has_discard_permission(self, request):
        return self._has(request, "discard")

    def _allowed(self, request) -> set[str]:
        return allowed_actions(request.user)

    def get_list_display(self, request):
        allowed = self._allowed(request)

        def buttons(obj):
            return self._buttons(obj, allowed)

        buttons.short_description = "Actions"
        return (*self.list_display, buttons) if allowed else self.list_display

    def _detail_fields(self, request):
        """The detail's fields, with the actions rendered for this user's permissions."""
        allowed = self._allowed(request)

        def actions(obj):
            workflow = reverse("admin:operations_workflow", args=[obj.task_id])
            return format_html('<a class="bo-link" href="{}">Workflow view</a> {}', workflow,
                               self._buttons(obj, allowed, request.get_full_path()))

        actions.short_description = "actions"
        return (*self.readonly_fields, actions)

    def get_fields(self, request, obj=None):
        return self._detail_fields(request)

    def get_readonly_fields(self, request, obj=None):
        return self._detail_fields(request)

    def _buttons(self, obj, allowed, next_url: str | None = None) -> str:
        return render_to_string("operations/_row_actions.html", {
            "run": obj, "allowed": allowed, "next": next_url or reverse(
                f"admin:{obj._meta.app_label}_{obj._meta.model_name}_changelist"),
        })

    queued_at_display = time_column("queued_at", "queued at")
    started_at_display = time_column("started_at", "started at")
    finished_at_display = time_column("finished_at", "finished at")
    discarded_at_display = time_column("discarded_at", "discarded at")
    resolved_at_display = time_column("resolved_at", "resolved at")
    args_display = readable_field("args", "args")
    kwargs_display = readable_field("kwargs", "kwargs")
    result_display = readable_field("result", "result")

    @admin.display(description="id", ordering="task_id")
    def short_id(self, obj):
        return obj.task_id[:8]

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if SHORT_ID.fullmatch(term):  # the list shows ids shortened: find them by that
            found = found | queryset.filter(task_id__startswith=term)
        return found, duplicates

    @admin.display(description="state", ordering="state")
    def state_display(self, obj):
        badge = state_badge(obj.state)
        if obj.retried_as_id:
            badge = format_html('{} <span class="bo-retried">retried →</span> {}', badge,
                                state_badge(obj.retried_as.state))
        return badge

    @admin.display(description="runtime")
    def runtime_display(self, obj):
        return f"{obj.runtime:.3f} s" if obj.runtime is not None else "—"

    @admin.display(description="result")
    def result_line(self, obj):
        return readable_line(obj.result)

    @admin.display(description="traceback")
    def traceback_display(self, obj):
        return format_html('<pre class="bo-pre">{}</pre>', obj.traceback) if obj.traceback else "—"

    def _run_link(self, run):
        if run is None:
            return "—"
        url = reverse("admin:operations_taskrun_change", args=[run.pk])
        return format_html('<a class="bo-link underline" data-run-link href="{}">{}</a> {}', url,
                           run.task_id, state_badge(run.state))

    @admin.display(description="stored result")
    def task_result_link(self, obj):
        try:
            stored = obj.task_result
        except TaskResult.DoesNotExist:  # no constraint: the row comes when a worker stores it
            stored = None
        if stored is None:
            return "— (none stored: still waiting or running, or the task keeps no result)"
        url = reverse("admin:django_celery_results_taskresult_change", args=[stored.pk])
        return format_html('<a class="bo-link underline" href="{}">Task result</a>', url)

    @admin.display(description="started by")
    def pointed_at_by(self, obj):
        """The rows of other apps that point at this run (a maintenance press: who, what)."""
        rows = [row for relation in services.referencing_relations()
                for row in relation.related_model._default_manager.filter(
                    **{relation.remote_field.name: obj})[:20]]
        if not rows:
            return "— (a schedule, a command or the code; no press points at this run)"
        return format_html_join(", ", '<a class="bo-link underline" href="{}">{}</a>', (
            (reverse(f"admin:{row._meta.app_label}_{row._meta.model_name}_change",
                     args=[row.pk]), str(row)) for row in rows))

    @admin.display(description="retry of")
    def retry_of_link(self, obj):
        return self._run_link(obj.retry_of)

    @admin.display(description="retried as")
    def retried_as_link(self, obj):
        return self._run_link(obj.retried_as)

    def _selected_action(self, request, queryset, service, done: str):
        try:
            count = len(service(task_runs=queryset)) if service is services.task_runs_retry \
                else service(task_runs=queryset)
        except services.OpsError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, done.format(count=count), messages.SUCCESS)


@admin.register(TaskRun)
class TaskRunAdmin(TaskRunAdminBase):
    """The task history: every run, including the ones still waiting."""

    OPS_URLS = (  # (route, view, name) — every view checks its own named permission
        ("overview/", views.OverviewView, "overview"),
        ("workflow/<str:task_id>/", views.WorkflowView, "workflow"),
        ("runs/<str:task_id>/", views.RunView, "run"),
        ("queues/<str:queue>/purge/", views.QueuePurgeView, "queue_purge"),
        ("queues/<str:queue>/pause/", views.QueuePauseView, "queue_pause"),
        ("queues/<str:queue>/resume/", views.QueueResumeView, "queue_resume"),
        ("runs/<str:task_id>/retry/", views.RetryView, "retry"),
        ("runs/<str:task_id>/discard/", views.DiscardView, "discard"),
        ("runs/<str:task_id>/revoke/", views.RevokeView, "revoke"),
        ("runs/<str:task_id>/terminate/", views.TerminateView, "terminate"),
        ("retry-by-name/", views.RetryByNameView, "retry_by_name"),
        ("workers/", views_workers.WorkersView, "workers"),
        ("workers/<str:hostname>/rate-limit/", views_workers.RateLimitView, "worker_rate_limit"),
        ("workers/<str:hostname>/grow/", views_workers.PoolGrowView, "worker_pool_grow"),
        ("workers/<str:hostname>/shrink/", views_workers.PoolShrinkView, "worker_pool_shrink"),
        ("workers/<str:hostname>/autoscale/", views_workers.AutoscaleView, "worker_autoscale"),
        ("workers/<str:hostname>/restart-pool/", views_workers.PoolRestartView,
         "worker_pool_restart"),
        ("workers/<str:hostname>/shutdown/", views_workers.ShutdownView, "worker_shutdown"),
    )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        ops = [path(route, wrap(view.as_view(model_admin=self)), name=f"operations_{name}")
               for route, view, name in self.OPS_URLS]
        return ops + super().get_urls()


@admin.register(FailedTaskRun)
class FailedTaskRunAdmin(TaskRunAdminBase):
    """Failed runs, unresolved ones unless the resolution filter asks for others; a retried
    run shows how its latest retry went."""

    list_display = ("short_id", "name", "queue", "state_display", "finished_at_display",
                    "result_line", "worker", "retries")
    list_filter = (FailureResolutionFilter, TaskKindFilter, TaskNameFilter, QueueFilter,
                   ("queued_at", LocalDateTimeRangeFilter))
    actions = ("retry_selected", "discard_selected")
    change_list_template = "operations/failed_change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(state=TaskRun.State.FAILURE)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        waiting = selectors.unresolved_failures(self.get_queryset(request)).filter(
            retried_as__isnull=True)
        # One index-backed EXISTS per registered task: a DISTINCT over every failure is slow.
        names = [name for name in registered_task_names() if waiting.filter(name=name).exists()]
        extra_context = {**(extra_context or {}), "retry_names": names,
                         "can_retry": self.has_retry_permission(request)}
        return super().changelist_view(request, extra_context)

    @admin.action(description="Retry the selected failed runs", permissions=["retry"])
    def retry_selected(self, request, queryset):
        self._selected_action(request, queryset, services.task_runs_retry,
                              "Sent {count} run(s) again on their original queues.")

    @admin.action(description="Discard the selected failed runs", permissions=["discard"])
    def discard_selected(self, request, queryset):
        self._selected_action(request, queryset, services.task_runs_discard,
                              "Discarded {count} failed run(s).")
