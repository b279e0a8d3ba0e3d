"""HTTP glue for the maintenance admin pages: the actions page and its JSON status,
backup download and restore confirmation. Business logic lives in actions/restore."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from maintenance import actions
from maintenance.backups import BackupError, backup_dir
from maintenance.models import Backup, MaintenanceRun
from maintenance.restore import backup_restore, restore_plan
from maintenance.selectors import runs_with_outcomes


class MaintenancePageView(UnfoldModelAdminViewMixin, TemplateView):
    """The "Maintenance" page: one button per action, the state of each latest run."""

    title = "Maintenance"
    permission_required = ()
    template_name = "maintenance/actions/page.html"

    def has_permission(self):
        return actions.can_see_actions(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        runs = actions.latest_runs(limit=15)
        latest = {}
        for run in runs:
            latest.setdefault(run.action, run)
        context["actions"] = [{
            "key": action.key, "label": action.label, "description": action.description,
            "allowed": user.has_perm(action.permission),
            "unavailable": action.reason_unavailable(user),
            "run": latest.get(action.key),
            "result_text": _result_text(latest.get(action.key)),
        } for action in actions.ACTIONS.values()]
        context["runs"] = runs
        context["runs_url"] = reverse("admin:maintenance_maintenancerun_changelist")
        return context


def _result_text(run) -> str:
    if run is None:
        return ""
    outcome = run.outcome
    if outcome.error:
        return outcome.error
    return "" if outcome.result is None else json.dumps(outcome.result, indent=1)


class ActionStartView(UnfoldModelAdminViewMixin, View):
    """POST only (CSRF by the middleware): start one action, then back to the page."""

    permission_required = ()
    http_method_names = ["post"]

    def has_permission(self):
        return actions.can_see_actions(self.request.user)

    def post(self, request, key):
        page = reverse("admin:maintenance_actions")
        try:
            run = actions.action_start(key=key, user=request.user)
        except actions.ActionRefused as exc:
            messages.warning(request, str(exc))
            if request.headers.get("Accept") == "application/json":
                body = {"error": str(exc), "run": actions.run_as_dict(exc.run) if exc.run
                        else None}
                return JsonResponse(body, status=409)
            return HttpResponseRedirect(page)
        messages.success(request, f"{run.label}: queued on the {run.queue} queue "
                                  f"(task {run.task_id}).")
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"run": actions.run_as_dict(run)}, status=202)
        return HttpResponseRedirect(page)


class RunStatusView(UnfoldModelAdminViewMixin, View):
    """Small JSON document the page polls until the run has finished."""

    permission_required = ()

    def has_permission(self):
        return actions.can_see_actions(self.request.user)

    def get(self, request, pk):
        [run] = runs_with_outcomes([get_object_or_404(MaintenanceRun, pk=pk)])
        return JsonResponse(actions.run_as_dict(run))


def _superuser_only(request) -> None:
    if not (request.user.is_active and request.user.is_superuser):
        raise PermissionDenied("only superusers may download or restore backups")


class BackupDownloadView(View):
    """Stream a backup file to a superuser; the only way to reach the files over HTTP."""

    def get(self, request, pk):
        _superuser_only(request)
        backup = get_object_or_404(Backup, pk=pk, status=Backup.Status.SUCCESS)
        directory = backup_dir().resolve()
        path = (directory / backup.file_name).resolve()
        if path.parent != directory or not path.is_file():
            raise Http404("the backup file is missing")
        response = FileResponse(open(path, "rb"), as_attachment=True,  # noqa: SIM115
                                filename=backup.file_name,
                                content_type="application/octet-stream"
                                if backup.file_name.endswith(".enc") else "application/gzip")
        response["X-Backup-SHA256"] = backup.sha256
        return response


class BackupRestoreView(UnfoldModelAdminViewMixin, TemplateView):
    """Confirmation page (what will be replaced), then the restore on POST."""

    title = "Restore backup"
    permission_required = ()
    template_name = "maintenance/backups/restore_confirm.html"

    def has_permission(self):
        return self.request.user.is_active and self.request.user.is_superuser

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        backup = get_object_or_404(Backup, pk=self.kwargs["pk"])
        started = timezone.localtime(backup.started_at)
        context.update(
            backup=backup, title=f"Restore the backup of {started:%Y-%m-%d %H:%M:%S}", danger=True,
            confirm_label="Yes, replace these tables", refusal_id="restore-error",
            cancel_url=reverse("admin:maintenance_backup_changelist"),
        )
        try:
            context["plan"] = restore_plan(backup)
        except BackupError as exc:
            context["refusal"] = f"This backup cannot be restored: {exc}"
        return context

    def post(self, request, pk):
        backup = get_object_or_404(Backup, pk=pk)
        if request.POST.get("confirm") != "yes":
            messages.warning(request, "Restore cancelled; nothing changed.")
            return HttpResponseRedirect(reverse("admin:maintenance_backup_changelist"))
        try:
            result = backup_restore(backup)
        except BackupError as exc:
            messages.error(request, f"Restore refused: {exc}. Nothing changed.")
            return HttpResponseRedirect(reverse("admin:maintenance_backup_restore", args=[pk]))
        total = sum(result["row_counts"].values())
        messages.success(request, f"Restored {total} rows from {result['file']}.")
        return HttpResponseRedirect(reverse("admin:maintenance_backup_changelist"))
