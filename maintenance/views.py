"""HTTP glue for the Maintenance page: the page and its live state, starting an action, a
run's JSON status and the cleanup confirmation. Business logic lives in actions/cleanup."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from backoffice.task_links import task_run_url
from maintenance import actions
from maintenance.cleanup import cleanup_preview
from maintenance.models import MaintenanceRun
from maintenance.selectors import runs_with_outcomes


class MaintenanceAccessMixin(UnfoldModelAdminViewMixin):
    """Staff holding the view permission or any of the run permissions."""

    permission_required = ()

    def has_permission(self):
        return actions.can_see_actions(self.request.user)


class MaintenancePageView(MaintenanceAccessMixin, TemplateView):
    """The "Maintenance" page: one card per action with its latest run, and the recent runs.

    Cards and list are rendered from one read of the runs; the page reloads that part
    (MaintenanceStateView) while a run is unfinished.
    """

    title = "Maintenance"
    template_name = "maintenance/actions/page.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        runs, latest = actions.page_runs(limit=15)
        context["actions"] = [{
            "key": action.key, "label": action.label, "description": action.description,
            "allowed": user.has_perm(action.permission),
            "confirm_url": reverse(action.confirm_url) if action.confirm_url else "",
            "link_attrs": {"data-action-link": action.key},
            "unavailable": action.reason_unavailable(user), "run": latest.get(action.key),
            "busy": action.key in latest and not latest[action.key].outcome.finished,
        } for action in actions.ACTIONS.values()]
        context["runs"] = runs
        context["unfinished"] = any(not run.outcome.finished
                                    for run in [*runs, *latest.values()])
        context["runs_url"] = reverse("admin:maintenance_maintenancerun_changelist")
        for run in [*runs, *latest.values()]:
            run.task_url = task_run_url(run.task_id) if run.task_id else ""
        return context


class MaintenanceStateView(MaintenancePageView):
    """The cards and the recent runs alone, for the page to swap in while it polls."""

    template_name = "maintenance/actions/_state.html"


class ActionStartView(MaintenanceAccessMixin, View):
    """POST only (CSRF by the middleware): start one action, then back to the page.

    An action that needs confirmation starts only with `confirm=yes` (its confirmation
    page sends it); without it the browser is sent to that page.
    """

    http_method_names = ["post"]

    def post(self, request, key):
        page = reverse("admin:maintenance_actions")
        wants_json = request.headers.get("Accept") == "application/json"
        action = actions.ACTIONS.get(key)
        if action is not None and action.confirm_url and request.POST.get("confirm") != "yes":
            if not request.user.has_perm(action.permission):
                raise PermissionDenied(f"you may not run {action.label!r}")
            if wants_json:
                return JsonResponse({"error": f"{action.label} needs confirm=yes"}, status=400)
            return HttpResponseRedirect(reverse(action.confirm_url))
        try:
            run = actions.action_start(key=key, user=request.user)
        except actions.ActionRefused as exc:
            messages.warning(request, str(exc))
            if wants_json:
                body = {"error": str(exc), "run": actions.run_as_dict(exc.run) if exc.run
                        else None}
                return JsonResponse(body, status=409)
            return HttpResponseRedirect(page)
        messages.success(request, f"{run.label}: queued on the {run.queue} queue "
                                  f"(task {run.task_id}).")
        if wants_json:
            return JsonResponse({"run": actions.run_as_dict(run)}, status=202)
        return HttpResponseRedirect(page)


class CleanupConfirmView(MaintenanceAccessMixin, TemplateView):
    """What "Clean up now" would delete now, per table with numbers, and its confirm button
    (which posts to ActionStartView)."""

    title = "Clean up now?"
    template_name = "maintenance/actions/cleanup_confirm.html"

    def get_context_data(self, **kwargs):
        action = actions.ACTIONS["cleanup"]
        if not self.request.user.has_perm(action.permission):
            raise PermissionDenied(f"you may not run {action.label!r}")
        context = super().get_context_data(**kwargs)
        preview = cleanup_preview()
        for row in preview:
            row["rows_display"] = f"{row['rows']:,}"
        total = sum(row["rows"] for row in preview)
        context.update(
            page_id="cleanup-confirm", preview=preview, total=total,
            in_flight=actions.runs_in_flight(key=action.key),
            confirm_action=reverse("admin:maintenance_action_start", args=[action.key]),
            confirm_label=f"Yes, delete {total:,} rows",
            confirm_attrs={"data-confirm": action.key},
            cancel_url=reverse("admin:maintenance_actions"))
        return context


class RunStatusView(MaintenanceAccessMixin, View):
    """Small JSON document: one run, its outcome and its summary."""

    def get(self, request, pk):
        [run] = runs_with_outcomes([get_object_or_404(MaintenanceRun, pk=pk)])
        return JsonResponse(actions.run_as_dict(run))
