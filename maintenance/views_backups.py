"""HTTP glue for backups: the superuser-only download, and the restore confirmation page
that queues the restore and then follows it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from backoffice.task_links import task_run_url
from maintenance import actions
from maintenance.backup_storage import BackupError, backup_open, backup_size, checked_name
from maintenance.models import Backup, MaintenanceRun
from maintenance.restore import backup_verify, restore_plan
from maintenance.restore_progress import restore_progress
from maintenance.selectors import RUN_STATUS_VARIANTS, runs_with_outcomes


def _superuser_only(request) -> None:
    if not (request.user.is_active and request.user.is_superuser):
        raise PermissionDenied("only superusers may download or restore backups")


class BackupDownloadView(View):
    """Stream a backup file from the backup storage to a superuser, block by block as it
    arrives; the only way to reach the files over HTTP."""

    def get(self, request, pk):
        _superuser_only(request)
        backup = get_object_or_404(Backup, pk=pk, status=Backup.Status.SUCCESS)
        try:
            name = checked_name(backup.file_name)
            stream = backup_open(name)
        except BackupError as exc:
            raise Http404(f"the backup file is not available: {exc}") from None
        except FileNotFoundError:
            raise Http404("the backup file is missing") from None
        response = FileResponse(stream, as_attachment=True, filename=name,
                                content_type="application/octet-stream"
                                if name.endswith(".enc") else "application/gzip")
        if "Content-Length" not in response:
            response["Content-Length"] = backup_size(name)
        response["X-Backup-SHA256"] = backup.sha256
        return response


def restore_run_state(run: MaintenanceRun) -> dict:
    """A restore run's outcome and progress (rows restored so far of the total, and the
    percentage) as JSON."""
    [run] = runs_with_outcomes([run])
    progress = restore_progress(run.task_id)
    if run.outcome.status == "success":
        percent = 100
    elif progress and progress["total"]:
        percent = min(100, round(100 * progress["done"] / progress["total"]))
    else:
        percent = 0
    return {**actions.run_as_dict(run), "progress": progress, "percent": percent}


class BackupRestoreView(UnfoldModelAdminViewMixin, TemplateView):
    """GET: what a restore replaces (checksum verified first), or, with `?run=`, how far
    that restore has got. POST (`confirm=yes`): queue the restore on the maintenance queue."""

    title = "Restore backup"
    permission_required = ()
    template_name = "maintenance/backups/restore_confirm.html"

    def has_permission(self):
        return self.request.user.is_active and self.request.user.is_superuser

    def _run(self) -> MaintenanceRun | None:
        run_id = self.request.GET.get("run", "")
        if not run_id:
            return None
        if not run_id.isdigit():
            raise Http404("no such restore run")
        return get_object_or_404(MaintenanceRun.objects.select_related("user"),
                                 pk=int(run_id), action=actions.RESTORE)

    def get(self, request, *args, **kwargs):
        run = self._run()
        if run is not None and request.headers.get("Accept") == "application/json":
            return JsonResponse(restore_run_state(run))
        return self._page(**kwargs)

    def _page(self, **kwargs):
        """The page; 400 when the backup cannot be restored (it says why, with no form)."""
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if "confirm_error" in context
                                       else 200)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        backup = get_object_or_404(Backup, pk=self.kwargs["pk"])
        context.update(backup=backup, page_id="restore-confirm",
                       confirm_label="Yes, replace these tables",
                       cancel_url=reverse("admin:maintenance_backup_changelist"))
        run = self._run()
        if run is not None:
            state = restore_run_state(run)
            context.update(run=state, percent=state["percent"],
                           task_url=task_run_url(run.task_id),
                           # Unfold's label in each colour, for the page to switch to.
                           label_variants=sorted(set(RUN_STATUS_VARIANTS.values())))
            return context
        try:
            context["plan"] = restore_plan(backup)
        except BackupError as exc:
            context["confirm_error"] = f"This backup cannot be restored: {exc}"
        return context

    def post(self, request, pk):
        backup = get_object_or_404(Backup, pk=pk)
        here = reverse("admin:maintenance_backup_restore", args=[pk])
        if request.POST.get("confirm") != "yes":
            messages.warning(request, "Restore cancelled; nothing changed.")
            return HttpResponseRedirect(reverse("admin:maintenance_backup_changelist"))
        try:
            backup_verify(backup)  # the worker verifies again before it touches a row
            run = actions.restore_start(backup=backup, user=request.user)
        except BackupError as exc:
            messages.error(request, f"Restore refused: {exc}. Nothing changed.")
            return self._page(pk=pk)
        except actions.ActionRefused as exc:
            messages.warning(request, f"Restore not started: {exc}")
            if exc.run is not None:
                return HttpResponseRedirect(f"{here}?run={exc.run.pk}")
            return HttpResponseRedirect(here)
        messages.success(request, f"Restore of {backup.file_name} queued on the {run.queue} "
                                  f"queue (task {run.task_id}).")
        return HttpResponseRedirect(f"{here}?run={run.pk}")
