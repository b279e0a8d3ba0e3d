"""`manage.py demo`: a tour of the background work, run against a running stack.

It registers a user (when the API exists) and waits for the welcome email task, runs the
project's main tasks that are registered (naming any that are not), the diagnostic
tasks, a chain, a group and a chord, prints each id, state and result with a progress bar,
and ends with where to look in the admin.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

from celery import chain, chord, group, signature
from celery import current_app as celery_app
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.urls import reverse

from backoffice.redis_client import redis_status
from operations.filters import registered_task_names
from operations.models import TaskRun
from operations.registry import worker_records

WELCOME = "notifications.tasks.send_welcome_email"


def _user_id(context):
    return [context["user_id"]] if context.get("user_id") else None


def _notification_id(context):
    if not apps.is_installed("notifications"):
        return None
    try:
        model = apps.get_model("notifications", "Notification")
    except LookupError:
        return None
    latest = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return [latest] if latest else None


# The project's main tasks, with how to build their arguments (None: cannot run now).
MAIN_TASKS = [
    (WELCOME, _user_id, "needs a user"),
    ("notifications.tasks.send_password_reset_email", _user_id, "needs a user"),
    ("notifications.tasks.send_bulk_notifications", _notification_id,
     "needs a composed Notification (compose one in the admin)"),
    ("notifications.tasks.send_admin_notification",
     lambda c: ["Demo", "Hello from manage.py demo"], ""),
    ("reports.tasks.generate_daily_report", lambda c: [], ""),
    ("reports.tasks.process_api_analytics", lambda c: [], ""),
    ("maintenance.tasks.backup_database", lambda c: [], ""),
    ("maintenance.tasks.cleanup_old_logs", lambda c: [30], ""),
]
DIAGNOSTIC_TASKS = [
    ("maintenance.tasks.noop", []),
    ("maintenance.tasks.echo", [{"hello": "demo"}]),
    ("maintenance.tasks.total", [[1, 2, 3]]),
    ("maintenance.tasks.fail", ["a failure on purpose: retry it from Failed tasks"]),
]


class Command(BaseCommand):
    help = "Walk through the stack: register, run every task and workflow, show where to look."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000",
                            help="the running web server (for registration)")
        parser.add_argument("--timeout", type=float, default=60.0,
                            help="seconds to wait for the tasks")

    def handle(self, *args, url, timeout, **options):
        if not redis_status()["ok"]:
            raise CommandError("The broker (Redis) is unreachable: start the stack (`make run`).")
        online = [w["hostname"] for w in worker_records() if w["online"]]
        if not online:
            raise CommandError("No worker is online: start the stack (`make run`) first.")
        self.say(f"Workers online: {', '.join(online)}")
        self.registered = set(registered_task_names())
        context = {}
        runs: list[tuple[str, str]] = []  # (label, task id)

        user_id, welcome = self.register(url.rstrip("/"))
        context["user_id"] = user_id or self.any_user_id()
        if welcome:
            runs.append((f"welcome email for user {user_id}", welcome))

        missing = []
        for name, build, reason in MAIN_TASKS:
            if name not in self.registered:
                missing.append(name)
                continue
            if name == WELCOME and welcome:
                continue
            task_args = build(context)
            if task_args is None:
                self.say(f"  skipped {name}: {reason}")
                continue
            runs.append((name, celery_app.send_task(name, args=task_args).id))
        for name, task_args in DIAGNOSTIC_TASKS:
            runs.append((name, celery_app.send_task(name, args=task_args).id))
        runs += self.workflows()
        if missing:
            self.say("Tasks not registered in this build: "
                     + ", ".join(missing), style=self.style.WARNING)

        self.wait(runs, timeout)
        self.where_to_look(runs)

    def say(self, text: str, style=None) -> None:
        self.stdout.write(style(text) if style else text)

    def any_user_id(self):
        return get_user_model().objects.order_by("pk").values_list("pk", flat=True).first()

    def register(self, base: str):
        """POST /api/register/; return (user id, welcome task id) or (None, None)."""
        name = f"demo-{uuid.uuid4().hex[:8]}"
        body = json.dumps({"username": name, "email": f"{name}@example.com",
                           "password": f"Demo-{uuid.uuid4().hex}", "first_name": "Demo",
                           "last_name": "User"}).encode()
        request = urllib.request.Request(f"{base}/api/register/", data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                status, answer = response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            self.say(f"Registration skipped: {base}/api/register/ answered {exc.code}.",
                     style=self.style.WARNING)
            return None, None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.say(f"Registration skipped: no web server at {base} ({exc}).",
                     style=self.style.WARNING)
            return None, None
        user_id = answer.get("user_id") or get_user_model().objects.filter(
            username=name).values_list("pk", flat=True).first()
        self.say(f"Registered user {name} (HTTP {status}, id {user_id}); waiting for the "
                 "welcome email task…")
        welcome = None
        deadline = time.monotonic() + 15
        while user_id and welcome is None and time.monotonic() < deadline:
            welcome = (TaskRun.objects.filter(name=WELCOME).filter(
                Q(args=json.dumps([user_id])) | Q(kwargs=json.dumps({"user_id": user_id})))
                       .order_by("-queued_at").values_list("task_id", flat=True).first())
            if welcome is None:
                time.sleep(0.2)
        if user_id and welcome is None:
            self.say("  no welcome email task was enqueued within 15 s.", style=self.style.ERROR)
        return user_id, welcome

    def workflows(self) -> list[tuple[str, str]]:
        needed = {"reports.tasks.generate_daily_report", "reports.tasks.process_api_analytics",
                "notifications.tasks.send_admin_notification"}
        if needed <= self.registered:
            report, notify = "reports.tasks.generate_daily_report", \
                "notifications.tasks.send_admin_notification"
            analytics = "reports.tasks.process_api_analytics"
            c = chain(signature(report), signature(notify, args=("Daily Report",
                                                                 "Report generated!")))
            g = group(signature(report), signature(analytics))
            header = [signature(analytics), signature(report)]
            callback = signature(notify, args=("Analytics Complete",))
        else:
            echo, total = "maintenance.tasks.echo", "maintenance.tasks.total"
            c = chain(signature(echo, args=([1, 2, 3],)), signature(total))
            g = group(signature(echo, args=(n,)) for n in range(3))
            header = [signature(echo, args=(n,)) for n in range(3)]
            callback = signature(total)
        chained = c.apply_async()
        grouped = g.apply_async()
        chorded = chord(header)(callback)
        runs = [("chain: last step", chained.id)]
        runs += [("group member", r.id) for r in grouped.results]
        runs.append(("chord: callback", chorded.id))
        return runs

    def wait(self, runs, timeout: float) -> None:
        ids = [task_id for _, task_id in runs]
        deadline = time.monotonic() + timeout
        finished = {}
        while time.monotonic() < deadline:
            finished = dict(TaskRun.objects.filter(task_id__in=ids, state__in=[
                TaskRun.State.SUCCESS, TaskRun.State.FAILURE, TaskRun.State.REVOKED])
                .values_list("task_id", "state"))
            self.progress(len(finished), len(ids))
            if len(finished) == len(ids):
                break
            time.sleep(0.3)
        self.stdout.write("")
        rows = {r.task_id: r for r in TaskRun.objects.filter(task_id__in=ids)}
        for label, task_id in runs:
            run = rows.get(task_id)
            state = run.state if run else "UNKNOWN"
            result = (run.result if run else "")[:80]
            style = {"SUCCESS": self.style.SUCCESS, "FAILURE": self.style.ERROR}.get(state)
            self.say(f"{label:<48} {task_id}  {state:<8} {result}", style=style)
        if len(finished) < len(ids):
            self.say(f"{len(ids) - len(finished)} task(s) had not finished after {timeout:g} s.",
                     style=self.style.WARNING)

    def progress(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        ending = "\r" if self.stdout.isatty() else "\n"
        if ending == "\n" and done < total:
            return  # no bar redraws into a log file; the final line is enough
        self.stdout.write(f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} finished",
                          ending=ending)

    def where_to_look(self, runs) -> None:
        chord_id = runs[-1][1]
        self.say("\nWhere to look in the admin:")
        for label, path in (
            ("Operations overview", reverse("admin:operations_overview")),
            ("Task history", reverse("admin:operations_taskrun_changelist")),
            ("Failed tasks (retry the demo failure)",
             reverse("admin:operations_failedtaskrun_changelist")),
            ("The chord as a workflow", reverse("admin:operations_workflow",
                                                args=[chord_id])),
            ("Task results (django-celery-results)",
             reverse("admin:django_celery_results_taskresult_changelist")),
        ):
            self.say(f"  {label:<40} {path}")

