"""`manage.py demo`: a tour of the background work, run against a running stack.

It registers a demo user (when the API exists) and waits for the welcome email task, runs
the project's main tasks that are registered (naming any that are not), the diagnostic
tasks, a chain, a group and a chord, prints each id, state and result with a progress bar,
and ends with what it created and where to look in the admin. What it runs and makes is
in maintenance/demo.py: it never touches or sends what staff made.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

from celery import chain, chord, group, signature
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.urls import reverse

from backoffice.enqueue import enqueue
from backoffice.redis_client import redis_status
from maintenance import demo
from operations.filters import registered_task_names
from operations.models import TaskRun
from operations.registry import worker_records


def demo_signature(name: str, *args):
    """A workflow step whose task id carries the demo prefix."""
    return signature(name, args=args).set(task_id=demo.demo_task_id())


class Command(BaseCommand):
    help = ("Walk through the stack: register a demo user, run the tasks and workflows that "
            "touch nothing staff made, say what it created and where to look.")

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None,
                            help="the running web server, for registration and the links "
                                 "printed at the end (default: SITE_URL)")
        parser.add_argument("--timeout", type=float, default=60.0,
                            help="seconds to wait for the tasks")

    def handle(self, *args, url, timeout, **options):
        if not redis_status()["ok"]:
            raise CommandError("The broker (Redis) is unreachable: start the stack (`make run`).")
        online = [w["hostname"] for w in worker_records() if w["online"]]
        if not online:
            raise CommandError("No worker is online: start the stack (`make run`) first.")
        self.base = (url or settings.SITE_URL).rstrip("/")
        self.say(f"Workers online: {', '.join(online)}")
        self.registered = set(registered_task_names())
        self.created: list[str] = []
        context = {}
        runs: list[tuple[str, str]] = []  # (label, task id)

        user_id, welcome = self.register()
        context["user_id"] = user_id
        if welcome:
            runs.append((f"welcome email for user {user_id}", welcome))
        if user_id and demo.BULK in self.registered:
            notification = demo.demo_notification_create(user_id=user_id)
            if notification is not None:
                context["notification_id"] = notification.pk
                self.created.append(f'notification "{notification.subject}" '
                                    f"(to the demo user only): " + self.link(
                                        "admin:notifications_notification_change",
                                        notification.pk))

        missing = []
        for name, build, reason in demo.MAIN_TASKS:
            if name not in self.registered:
                missing.append(name)
                continue
            if name == demo.WELCOME and welcome:
                continue
            task_args = build(context)
            if task_args is None:
                self.say(f"  skipped {name}: {reason}")
                continue
            runs.append((name, self.send(name, task_args)))
        for name, task_args in demo.DIAGNOSTIC_TASKS:
            runs.append((name, self.send(name, task_args)))
        runs += self.workflows(context)
        if missing:
            self.say("Tasks not registered in this build: "
                     + ", ".join(missing), style=self.style.WARNING)

        self.wait(runs, timeout, notification_id=context.get("notification_id"))
        self.what_it_made(runs)
        self.where_to_look(runs)

    def send(self, name: str, task_args: list) -> str:
        return enqueue(name, args=task_args, task_id=demo.demo_task_id()).id

    def link(self, view: str, *args) -> str:
        """The absolute address of an admin page on the demo's web server."""
        return self.base + reverse(view, args=args)

    def say(self, text: str, style=None) -> None:
        self.stdout.write(style(text) if style else text)

    def register(self):
        """POST /api/register/ a demo user; return (user id, welcome task id) or (None, None)."""
        name = demo.demo_name()
        email = f"{name}@example.com"
        body = json.dumps({"username": name, "email": email,
                           "password": f"Demo-{uuid.uuid4().hex}", "first_name": "Demo",
                           "last_name": "User"}).encode()
        address = f"{self.base}/api/register/"
        request = urllib.request.Request(address, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                status, answer = response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            self.say(f"Registration skipped: {address} answered {exc.code}.",
                     style=self.style.WARNING)
            return None, None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.say(f"Registration skipped: no web server at {self.base} ({exc}).",
                     style=self.style.WARNING)
            return None, None
        user_id = answer.get("user_id") or get_user_model().objects.filter(
            username=name).values_list("pk", flat=True).first()
        self.say(f"Registered user {name} (HTTP {status}, id {user_id}); waiting for the "
                 "welcome email task…")
        if user_id:
            self.created.append(f"user {name} <{email}>, the only recipient of the demo's "
                                "emails: " + self.link("admin:accounts_user_change", user_id))
        welcome = None
        deadline = time.monotonic() + 15
        while user_id and welcome is None and time.monotonic() < deadline:
            welcome = (TaskRun.objects.filter(name=demo.WELCOME).filter(
                Q(args=json.dumps([user_id])) | Q(kwargs=json.dumps({"user_id": user_id})))
                       .order_by("-queued_at").values_list("task_id", flat=True).first())
            if welcome is None:
                time.sleep(0.2)
        if user_id and welcome is None:
            self.say("  no welcome email task was enqueued within 15 s.", style=self.style.ERROR)
        return user_id, welcome

    def workflows(self, context: dict) -> list[tuple[str, str]]:
        """The documented chain, group and chord; on echo/total when a report task is
        missing or its period's logs are no longer kept."""
        report, analytics, notify = demo.DAILY_REPORT, demo.WEEKLY_ANALYTICS, demo.ADMIN_NOTICE
        runnable = ({report, analytics, notify} <= self.registered
                    and demo.daily_report_args(context) is not None
                    and demo.weekly_analytics_args(context) is not None)
        if runnable:
            c = chain(demo_signature(report),
                      demo_signature(notify, "Daily Report", "Report generated!"))
            g = group(demo_signature(report), demo_signature(analytics))
            header = [demo_signature(analytics), demo_signature(report)]
            callback = demo_signature(notify, "Analytics Complete")
        else:
            echo, total = "maintenance.tasks.echo", "maintenance.tasks.total"
            c = chain(demo_signature(echo, [1, 2, 3]), demo_signature(total))
            g = group(demo_signature(echo, n) for n in range(3))
            header = [demo_signature(echo, n) for n in range(3)]
            callback = demo_signature(total)
        chained = enqueue(c)
        grouped = enqueue(g)
        chorded = enqueue(chord(header, callback))
        runs = [("chain: last step", chained.id)]
        runs += [("group member", r.id) for r in grouped.results]
        runs.append(("chord: callback", chorded.id))
        return runs

    def wait(self, runs, timeout: float, notification_id: int | None = None) -> None:
        """Until every run has finished, and the demo's notification (its drains run after
        the start task) has been sent."""
        ids = [task_id for _, task_id in runs]
        deadline = time.monotonic() + timeout
        finished = {}
        while time.monotonic() < deadline:
            finished = dict(TaskRun.objects.filter(task_id__in=ids, state__in=[
                TaskRun.State.SUCCESS, TaskRun.State.FAILURE, TaskRun.State.REVOKED])
                .values_list("task_id", "state"))
            self.progress(len(finished), len(ids))
            if len(finished) == len(ids) and not demo.notification_sending(notification_id):
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

    def what_it_made(self, runs) -> None:
        self.say("\nCreated by this demo (named demo-… or \"Demo: …\"):")
        for line in self.created:
            self.say(f"  {line}")
        ran = {label for label, _ in runs}
        self.say(f"  {len(runs)} task runs whose ids start with {demo.PREFIX} (the welcome "
                 "email's is the registration's own), and the tasks they started")
        if demo.ADMIN_NOTICE in ran:
            self.say("  emails to the admins: the admin notice and the workflows' callbacks")
        if ran & {demo.DAILY_REPORT, demo.WEEKLY_ANALYTICS}:
            self.say("  yesterday's daily report and last week's analytics recomputed from the "
                     "API log, as the nightly schedule does")
        self.say("\nNot run by the demo (they delete or write data): press them on the "
                 f"Maintenance page, which asks first: {self.link('admin:maintenance_actions')}")
        for name, what in demo.NOT_RUN:
            self.say(f"  {name}: {what}")

    def where_to_look(self, runs) -> None:
        chord_id = runs[-1][1]
        self.say("\nWhere to look in the admin:")
        for label, view, args in (
            ("Operations overview", "admin:operations_overview", []),
            ("Task history", "admin:operations_taskrun_changelist", []),
            ("Failed tasks (retry the demo failure)",
             "admin:operations_failedtaskrun_changelist", []),
            ("The chord as a workflow", "admin:operations_workflow", [chord_id]),
            ("Task results (django-celery-results)",
             "admin:django_celery_results_taskresult_changelist", []),
        ):
            self.say(f"  {label:<40} {self.link(view, *args)}")
