"""The Workers page and its controls: rate limits, pool size, autoscale, restart, shutdown.

HTTP glue like operations.views: each control checks its named permission, calls one service
of operations.worker_control and shows its sentence. Restart and shutdown ask first.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from backoffice.celery import app
from operations import worker_control, worker_selectors
from operations.filters import registered_task_names
from operations.permissions import ACTION_PERMISSIONS, VIEW_PERMISSION, user_can
from operations.registry import worker_records
from operations.selectors import task_acks_late
from operations.services import OpsError
from operations.views import ConfirmedActionView, OpsActionView


class WorkersView(UnfoldModelAdminViewMixin, TemplateView):
    """Every online worker as it answers `inspect`: pool, memory, tasks, queues, limits."""

    title = "Workers"
    permission_required = (VIEW_PERMISSION,)
    template_name = "operations/workers.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(data=worker_selectors.workers_detail(), can=user_can(self.request.user),
                       task_names=registered_task_names(),
                       pool_max=settings.OPS_WORKER_POOL_MAX,
                       history_url=reverse("admin:operations_taskrun_changelist"),
                       overview_url=reverse("admin:operations_overview"))
        return context


class WorkerActionView(OpsActionView):
    def next_url(self) -> str:
        url = super().next_url()
        return reverse("admin:operations_workers") if url == reverse(
            "admin:operations_overview") else url


class RateLimitView(WorkerActionView):
    permission_required = (ACTION_PERMISSIONS["rate_limit"],)

    def perform(self, hostname):
        name = self.request.POST.get("task_name", "").strip()
        rate = self.request.POST.get("rate_limit", "").strip()
        if self.request.POST.get("clear"):
            rate = ""
        worker_control.task_rate_limit_set(hostname=hostname, task_name=name, rate_limit=rate)
        if not rate or rate == "0":
            return f"Rate limit of {name} cleared on {hostname}."
        return (f"Rate limit of {name} on {hostname} is now {rate}, until that worker "
                "restarts.")


def _count(request) -> int:
    try:
        return int(request.POST.get("n", "1"))
    except ValueError:
        raise OpsError(f"{request.POST.get('n')!r} is not a whole number of processes; "
                       "nothing was sent.") from None


class PoolGrowView(WorkerActionView):
    permission_required = (ACTION_PERMISSIONS["scale"],)

    def perform(self, hostname):
        n = _count(self.request)
        if n < 1:
            raise OpsError("Give at least 1 process; nothing was sent.")
        size = worker_control.worker_pool_resize(hostname=hostname, by=n)
        return f"The pool of {hostname} grows by {n} to {size} process(es)."


class PoolShrinkView(WorkerActionView):
    permission_required = (ACTION_PERMISSIONS["scale"],)

    def perform(self, hostname):
        n = _count(self.request)
        if n < 1:
            raise OpsError("Give at least 1 process; nothing was sent.")
        size = worker_control.worker_pool_resize(hostname=hostname, by=-n)
        return f"The pool of {hostname} shrinks by {n} to {size} process(es)."


class AutoscaleView(WorkerActionView):
    permission_required = (ACTION_PERMISSIONS["scale"],)

    def perform(self, hostname):
        answer = worker_control.worker_autoscale_set(
            hostname=hostname, maximum=self.request.POST.get("max"),
            minimum=self.request.POST.get("min"))
        return f"{hostname}: {answer}."


class WorkerConfirmedView(ConfirmedActionView, WorkerActionView):
    template_name = "operations/worker_confirm.html"


class PoolRestartView(WorkerConfirmedView):
    """GET: what a pool restart does. POST with confirm=yes: restart the pool."""

    permission_required = (ACTION_PERMISSIONS["restart_pool"],)
    title = "Restart worker pool"

    def confirmation(self, hostname):
        context = {"title": f"Restart the pool of {hostname}?", "hostname": hostname,
                   "page_id": "pool-restart-confirm", "what": "restart",
                   "enabled": bool(app.conf.worker_pool_restarts),
                   "confirm_label": "Yes, restart its pool",
                   "confirm_attrs": {"data-action": "pool-restart-confirm"}}
        if not context["enabled"]:
            context["confirm_error"] = ("Pool restarts are off (CELERY_WORKER_POOL_RESTARTS); "
                                        "the worker would refuse.")
        return context

    def perform(self, hostname):
        answer = worker_control.worker_pool_restart(hostname=hostname)
        return f"{hostname}: {answer}; each process is replaced once its running task ends."


class ShutdownView(WorkerConfirmedView):
    """GET: what becomes of the worker's tasks. POST with confirm=yes: shut it down."""

    permission_required = (ACTION_PERMISSIONS["shutdown"],)
    title = "Shut down worker"

    def confirmation(self, hostname):
        try:
            record = next((w for w in worker_records() if w["hostname"] == hostname), {})
        except Exception as exc:
            return {"title": f"Shut down {hostname}?", "hostname": hostname, "what": "shutdown",
                    "confirm_error": f"The broker (Redis) is unreachable ({exc}); nothing can "
                                     "be sent now."}
        return {"title": f"Shut down {hostname}?", "hostname": hostname, "what": "shutdown",
                "active": record.get("active"), "online": record.get("online", False),
                "page_id": "shutdown-confirm", "acks_late": task_acks_late(""),
                "visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT,
                "confirm_label": "Yes, shut it down",
                "confirm_attrs": {"data-action": "shutdown-confirm"}}

    def perform(self, hostname):
        worker_control.worker_shutdown(hostname=hostname)
        return (f"Asked {hostname} to shut down: it takes no new task, finishes the ones it "
                "is running, then exits.")
