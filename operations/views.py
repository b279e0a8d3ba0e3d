"""Operations console pages in the admin: overview, workflow, and the POST-only actions.

Views are HTTP glue: they check the named permission, call a selector or a service, and
show the service's sentence. Every state change is a POST with CSRF.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from operations import selectors, services
from operations.models import TaskRun
from operations.permissions import ACTION_PERMISSIONS, VIEW_PERMISSION, user_can


def _chart(series: dict) -> str:
    return json.dumps({
        "labels": series["labels"],
        "datasets": [
            {"label": "Succeeded", "data": series["ok"], "backgroundColor": "#16a34a",
             "borderColor": "#16a34a", "pointRadius": 0},
            {"label": "Failed", "data": series["failed"], "backgroundColor": "#dc2626",
             "borderColor": "#dc2626", "pointRadius": 0},
        ],
    })


class OverviewView(UnfoldModelAdminViewMixin, TemplateView):
    """Workers, queues, charts, beat and alerts; the page re-fetches its body every 5 s."""

    title = "Operations overview"
    permission_required = (VIEW_PERMISSION,)
    template_name = "operations/overview.html"

    def get_template_names(self):
        if self.request.GET.get("partial"):
            return ["operations/_overview_body.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        data = selectors.ops_overview()
        can = user_can(self.request.user)
        context.update(ops=data, can=can, allowed={name for name, ok in can.items() if ok},
                       chart_hour=_chart(data["throughput"]["hour"]),
                       chart_day=_chart(data["throughput"]["day"]),
                       failed_url=reverse("admin:operations_failedtaskrun_changelist"),
                       history_url=reverse("admin:operations_taskrun_changelist"))
        return context


class WorkflowView(UnfoldModelAdminViewMixin, TemplateView):
    """A chain, group or chord: every member and its state, together."""

    title = "Workflow"
    permission_required = (VIEW_PERMISSION,)
    template_name = "operations/workflow.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workflow = selectors.workflow_runs(task_id=kwargs["task_id"])
        if workflow is None:
            raise Http404("No task run with this id is known.")
        context.update(workflow=workflow, can=user_can(self.request.user),
                       title=f"Workflow: {workflow['kind']}")
        return context


class RunView(UnfoldModelAdminViewMixin, View):
    """The one page of a run, by task id: its detail in the task history.

    Links from other pages (a press, a regenerated report, a "Run now") know the task id
    before the run is recorded; until it is, the history is shown filtered to that id, with
    a sentence saying so.
    """

    title = "Task run"
    permission_required = (VIEW_PERMISSION,)

    def get(self, request, task_id):
        changelist = reverse("admin:operations_taskrun_changelist")
        if len(task_id) > TaskRun._meta.get_field("task_id").max_length:
            messages.error(request, "This is not a task id: it is longer than any task id.")
            return redirect(changelist)
        pk = TaskRun.objects.filter(task_id=task_id).values_list("pk", flat=True).first()
        if pk is None:
            messages.warning(request, f"No run of task {task_id} is recorded (yet): a run "
                             "is recorded once the broker has its message.")
            return redirect(f"{changelist}?{urlencode({'q': task_id})}")
        return redirect("admin:operations_taskrun_change", pk)


class OpsActionView(UnfoldModelAdminViewMixin, View):
    """A POST that calls one service and comes back with its message."""

    http_method_names = ["post"]
    title = "Operations"

    def next_url(self) -> str:
        url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url and url_has_allowed_host_and_scheme(url, {self.request.get_host()},
                                                   self.request.is_secure()):
            return url
        return reverse("admin:operations_overview")

    def post(self, request, **kwargs):
        try:
            message = self.perform(**kwargs)
        except services.OpsError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, message)
        return redirect(self.next_url())

    def perform(self, **kwargs) -> str:  # pragma: no cover - subclasses implement it
        raise NotImplementedError


def _workers(names: list[str]) -> str:
    return ", ".join(names) if names else "no worker was online to answer"


class ConfirmedActionView(OpsActionView):
    """GET: a confirmation page on admin/confirm_page.html, saying what will happen.
    POST with confirm=yes: the action; any other POST changes nothing."""

    http_method_names = ["get", "post"]
    template_name = ""

    def confirmation(self, **kwargs) -> dict:  # pragma: no cover - subclasses implement it
        raise NotImplementedError

    def get(self, request, **kwargs):
        context = self.get_context_data(**kwargs)
        context.update(cancel_url=self.next_url(), **self.confirmation(**kwargs))
        return TemplateResponse(request, self.template_name, context)

    def post(self, request, **kwargs):
        if request.POST.get("confirm") != "yes":
            messages.warning(request, "Not confirmed; nothing was changed.")
            return redirect(self.next_url())
        return super().post(request, **kwargs)


class QueuePurgeView(ConfirmedActionView):
    """GET: confirmation with the number of waiting messages. POST: purge."""

    permission_required = (ACTION_PERMISSIONS["purge"],)
    title = "Purge queue"
    template_name = "operations/purge_confirm.html"

    def confirmation(self, queue):
        if queue not in selectors.queue_names():
            raise Http404("Unknown queue.")
        context = {"title": f"Purge queue {queue}", "queue": queue, "page_id": "purge-confirm",
                   "confirm_attrs": {"data-action": "purge-confirm"}}
        try:
            depth = selectors.queue_depths()[queue]
        except Exception as exc:
            context["confirm_error"] = (f"The broker (Redis) is unreachable ({exc}). "
                                        "Nothing can be purged now.")
            return context
        return {**context, "depth": depth, "confirm_label": f"Purge {depth} message(s)"}

    def perform(self, queue):
        count = services.queue_purge(queue=queue)
        return f"Purged {count} waiting message(s) from queue {queue}."


class QueuePauseView(OpsActionView):
    permission_required = (ACTION_PERMISSIONS["pause"],)

    def perform(self, queue):
        workers = services.queue_pause(queue=queue, username=self.request.user.get_username())
        return f"Queue {queue} is paused; stopped consuming it: {_workers(workers)}."


class QueueResumeView(OpsActionView):
    permission_required = (ACTION_PERMISSIONS["pause"],)

    def perform(self, queue):
        workers = services.queue_resume(queue=queue)
        return f"Queue {queue} is resumed; consuming it again: {_workers(workers)}."


class RunActionView(OpsActionView):
    def run(self, task_id) -> TaskRun:
        return get_object_or_404(TaskRun, task_id=task_id)


class RetryView(RunActionView):
    permission_required = (ACTION_PERMISSIONS["retry"],)

    def perform(self, task_id):
        retry = services.task_run_retry(task_run=self.run(task_id))
        return f"Sent {retry.name} again on queue {retry.queue} as {retry.task_id}."


class DiscardView(RunActionView):
    permission_required = (ACTION_PERMISSIONS["discard"],)

    def perform(self, task_id):
        services.task_runs_discard(task_runs=[self.run(task_id)])
        return f"Discarded failed run {task_id}."


class RevokeView(RunActionView):
    permission_required = (ACTION_PERMISSIONS["revoke"],)

    def perform(self, task_id):
        run = services.task_revoke(task_id=task_id)
        return f"Revoked {run.name} [{task_id}]: {run.result}."


class TerminateView(ConfirmedActionView, RunActionView):
    """GET: which running task would be killed and what that means. POST: terminate it."""

    permission_required = (ACTION_PERMISSIONS["terminate"],)
    title = "Terminate task"
    template_name = "operations/terminate_confirm.html"

    def confirmation(self, task_id):
        run = self.run(task_id)
        context = {"run": run, "title": f"Terminate {run.name}?", "page_id": "terminate-confirm",
                   "running_for": selectors.running_for(run),
                   "acks_late": selectors.task_acks_late(run.name),
                   "confirm_label": "Yes, terminate it",
                   "confirm_attrs": {"data-action": "terminate-confirm"}}
        try:
            services.task_terminate_check(task_id=task_id)
        except services.OpsError as exc:
            context["confirm_error"] = str(exc)
        return context

    def perform(self, task_id):
        workers = services.task_terminate(task_id=task_id)
        return f"Asked to terminate {task_id}; acknowledged by: {_workers(workers)}."


class RetryByNameView(OpsActionView):
    permission_required = (ACTION_PERMISSIONS["retry"],)

    def perform(self):
        name = self.request.POST.get("name", "").strip()
        count = services.task_runs_retry_by_name(name=name)
        return f"Sent {count} failed run(s) of {name} again, in batches."
