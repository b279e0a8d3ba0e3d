"""Admin for backups and maintenance runs, and the Maintenance page's URLs.

Download and restore are superuser-only; the actions page is for staff holding any of
the run permissions. No business logic here: it calls services and views.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from accounts.admin_mixins import RecordAdminMixin
from backoffice.task_links import task_run_url
from maintenance.models import Backup, MaintenanceRun
from maintenance.selectors import (
    RUN_STATUS_DISPLAY,
    RUN_STATUS_VARIANTS,
    backup_started_by,
    backups_with_starter,
    run_status,
    runs_with_outcomes,
    runs_with_task_state,
)
from maintenance.services import backup_delete
from maintenance.summaries import run_summary
from maintenance.views import (
    ActionStartView,
    CleanupConfirmView,
    MaintenancePageView,
    MaintenanceStateView,
    RunStatusView,
)
from maintenance.views_backups import BackupDownloadView, BackupRestoreView

STATUS_LABELS = RUN_STATUS_VARIANTS


class TaskLinkMixin:
    """`task_link`: a row's task id, linked to its run's page."""

    @display(description="Task")
    def task_link(self, obj):
        if not obj.task_id:
            return "—"
        return format_html('<a class="text-primary-600" href="{}">{}</a>',
                           task_run_url(obj.task_id), obj.task_id)


@admin.register(Backup)
class BackupAdmin(TaskLinkMixin, RecordAdminMixin, ModelAdmin):
    list_display = ("started_at", "status_badge", "size", "total_rows_display", "started_by",
                    "finished_at", "file_links")
    list_filter = ("status",)
    ordering = ("-started_at",)
    show_full_result_count = False
    actions = ["restore_backup"]
    readonly_fields = ("started_at", "finished_at", "status", "file_name", "size", "sha256",
                       "row_counts_table", "schema_table", "error", "started_by", "task_link",
                       "file_links")
    fields = readonly_fields

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/download/", wrap(BackupDownloadView.as_view()),
                 name="maintenance_backup_download"),
            path("<int:pk>/restore/", wrap(BackupRestoreView.as_view(model_admin=self)),
                 name="maintenance_backup_restore"),
            *super().get_urls(),
        ]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_restore_permission(self, request):
        return request.user.is_superuser

    def delete_model(self, request, obj):
        backup_delete(backup=obj)

    def delete_queryset(self, request, queryset):
        for backup in queryset:
            backup_delete(backup=backup)

    @display(description="Status", label=STATUS_LABELS, ordering="status")
    def status_badge(self, obj):
        return obj.status

    def get_queryset(self, request):
        return backups_with_starter(super().get_queryset(request))

    @display(description="Started by")
    def started_by(self, obj):
        return backup_started_by(obj)

    @display(description="Size", ordering="size_bytes")
    def size(self, obj):
        return filesizeformat(obj.size_bytes) if obj.size_bytes is not None else "—"

    @display(description="Rows")
    def total_rows_display(self, obj):
        return obj.total_rows

    def get_list_display(self, request):
        # Links only for superusers: everyone else gets 403 on download and restore.
        shown = super().get_list_display(request)
        return shown if request.user.is_superuser else [
            "file_name" if name == "file_links" else name for name in shown]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if request.user.is_superuser else [
            f for f in fields if f != "file_links"]

    @display(description="File")
    def file_links(self, obj):
        if obj.status != Backup.Status.SUCCESS:
            return obj.file_name or "—"
        return format_html(
            '<a class="text-primary-600" href="{}">Download</a> · '
            '<a class="text-primary-600" href="{}">Restore…</a>',
            reverse("admin:maintenance_backup_download", args=[obj.pk]),
            reverse("admin:maintenance_backup_restore", args=[obj.pk]))

    @display(description="Rows per table")
    def row_counts_table(self, obj):
        return _pairs(obj.row_counts.items(), "Table", "Rows")

    @display(description="Schema (latest migration per app)")
    def schema_table(self, obj):
        return _pairs(obj.schema.items(), "App", "Migration")

    @action(description="Restore the selected backup…", permissions=["restore"])
    def restore_backup(self, request, queryset):
        if queryset.count() != 1:
            messages.warning(request, "Select exactly one backup to restore.")
            return None
        return HttpResponseRedirect(
            reverse("admin:maintenance_backup_restore", args=[queryset.get().pk]))


def _pairs(items, left="", right=""):
    rows = list(items)
    if not rows:
        return "—"
    body = format_html_join("", "<tr><td class='pr-4'>{}</td><td class='break-all'>{}</td>"
                                "</tr>", rows)
    head = format_html("<thead><tr><th class='pr-4 text-left'>{}</th><th class='text-left'>{}"
                       "</th></tr></thead>", left, right) if left or right else ""
    return format_html("<table>{}<tbody>{}</tbody></table>", head, body)


class RunStatusFilter(admin.SimpleListFilter):
    """Status as the task history has it (runs keep no status of their own)."""

    title = "status"
    parameter_name = "status"
    STATES = {"queued": ["QUEUED"], "running": ["STARTED", "RETRY"], "success": ["SUCCESS"],
              "failed": ["FAILURE", "REVOKED"]}

    def lookups(self, request, model_admin):
        return [(key, RUN_STATUS_DISPLAY[key]) for key in self.STATES]

    def queryset(self, request, queryset):
        states = self.STATES.get(self.value())
        if states is None:
            return queryset
        if self.value() == "queued":  # not published yet, e.g. a chord's callback
            return queryset.filter(Q(task_state__in=states) | Q(task_state__isnull=True))
        return queryset.filter(task_state__in=states)


@admin.register(MaintenanceRun)
class MaintenanceRunAdmin(TaskLinkMixin, RecordAdminMixin, ModelAdmin):
    """Every trigger: who pressed what, when, and its task; the outcome from the history."""

    deletable = False  # the record of who did what stays
    list_display = ("requested_at", "label", "user", "status_badge", "task_link", "queue",
                    "finished_at")
    list_filter = ("action", RunStatusFilter)
    search_fields = ("task__task_id", "label", "user__username")
    list_select_related = ("user",)
    show_full_result_count = False
    readonly_fields = ("action", "label", "user", "requested_at", "task_link", "queue",
                       "status_badge", "result", "error", "finished_at")
    fields = readonly_fields

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("actions/", wrap(MaintenancePageView.as_view(model_admin=self)),
                 name="maintenance_actions"),
            path("actions/state/", wrap(MaintenanceStateView.as_view(model_admin=self)),
                 name="maintenance_actions_state"),
            path("actions/cleanup/confirm/", wrap(CleanupConfirmView.as_view(model_admin=self)),
                 name="maintenance_cleanup_confirm"),
            path("actions/<slug:key>/", wrap(ActionStartView.as_view(model_admin=self)),
                 name="maintenance_action_start"),
            path("<int:pk>/status.json", wrap(RunStatusView.as_view(model_admin=self)),
                 name="maintenance_run_status"),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return runs_with_task_state(super().get_queryset(request))

    def get_object(self, request, object_id, from_field=None):
        run = super().get_object(request, object_id, from_field)
        return runs_with_outcomes([run])[0] if run is not None else None

    @display(description="Status", label=STATUS_LABELS)
    def status_badge(self, obj):
        return run_status(state=obj.task_state, requested_at=obj.requested_at)

    @display(description="Finished", ordering="task_finished_at")
    def finished_at(self, obj):
        return obj.task_finished_at or "—"

    @display(description="Result")
    def result(self, obj):
        facts = [(item["label"], item.get("full") or item["value"])
                 for item in run_summary(obj) if item["label"] != "Error"]
        return _pairs(facts) if facts else "—"

    @display(description="Error")
    def error(self, obj):
        return obj.outcome.error or "—"

