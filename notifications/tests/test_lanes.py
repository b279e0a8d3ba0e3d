"""Transactional email has its own lane: it never waits behind bulk batches or their rate cap.

Workers as the Procfile runs them: one on every queue (email first, bulk last) and one on
`email` only, both mailing into the SMTP sink.
"""

import time

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts.models import User
from accounts.services import user_register
from backoffice.celery import app
from notifications.models import Notification, OutgoingEmail
from notifications.tasks import (
    drain_notification,
    send_admin_notification,
    send_bulk_notifications,
)
from operations.models import TaskRun
from tests.processes import CeleryWorker, wait_until

BULK = ("send_bulk_notifications", "drain_notification")
TRANSACTIONAL = ("send_email", "send_welcome_email", "send_password_reset_email",
                 "send_admin_notification", "send_test_notification", "sweep_outgoing_email")


def queue_of(task: str) -> str:
    return app.amqp.router.route({}, f"notifications.tasks.{task}")["queue"].name


def test_bulk_work_has_its_own_queue_polled_last():
    assert {queue_of(task) for task in BULK} == {"bulk"}
    assert {queue_of(task) for task in TRANSACTIONAL} == {"email"}
    assert settings.CELERY_QUEUE_NAMES[0] == "email" and settings.CELERY_QUEUE_NAMES[-1] == "bulk"
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] == "priority"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_every_queue_takes_waiting_email_before_bulk_work(smtp, only_our_workers):
    notification = Notification.objects.create(subject="Draft", text_body="not sent")
    bulk = [drain_notification.delay(notification.pk) for _ in range(3)]
    mail = [send_admin_notification.delay("Lanes", f"email {n}") for n in range(2)]
    task_ids = [result.id for result in (*bulk, *mail)]
    worker = CeleryWorker(concurrency=1, queues=settings.CELERY_QUEUE_NAMES,
                          extra_env=smtp.env()).start()
    try:
        wait_until(lambda: TaskRun.objects.filter(task_id__in=task_ids,
                                                  state="SUCCESS").count() == len(task_ids),
                   60, "every task to run")
    finally:
        worker.stop()

    started = list(TaskRun.objects.filter(task_id__in=task_ids).order_by("started_at")
                   .values_list("queue", flat=True))
    assert started == ["email", "email", "bulk", "bulk", "bulk"]  # round robin would alternate


def procfile_workers(extra_env: dict) -> list[CeleryWorker]:
    return [CeleryWorker(concurrency=2, queues=settings.CELERY_QUEUE_NAMES, extra_env=extra_env),
            CeleryWorker(concurrency=1, queues=("email",), extra_env=extra_env)]


def bulk_notification(count: int, prefix: str) -> Notification:
    User.objects.bulk_create([User(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com",
                                   password="!") for n in range(count)])
    notification = Notification.objects.create(subject="Bulk", text_body="hello",
                                               audience="users")
    notification.users.set(User.objects.filter(username__startswith=prefix))
    return notification


def note_arrival(smtp, address: str, seen: dict, what) -> None:
    """Record `what()` at the moment `address` reaches the SMTP server."""
    def rule(recipient, attempt):
        if recipient == address:
            seen["at_arrival"] = what()
        return None

    smtp.fail_rule = rule


def bulk_mails(smtp) -> int:
    return sum(1 for message in smtp.messages if message["Subject"] == "Bulk")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers_settings", ["test", "dev"])
def test_password_reset_arrives_while_a_bulk_send_is_running(smtp, client, only_our_workers,
                                                             workers_settings):
    """With the workers on the test settings, and on the development ones (DEBUG on) as
    `make run` starts them."""
    total = 3000
    notification = bulk_notification(total, "crowd")
    User.objects.create_user("forgetful", "forgetful@example.com", "old-password-1")
    seen = {}
    note_arrival(smtp, "forgetful@example.com", seen, lambda: bulk_mails(smtp))
    env = smtp.env()
    if workers_settings == "dev":
        env.update(DJANGO_SETTINGS_MODULE="backoffice.settings.dev", DEBUG="true",
                   REDIS_URL=settings.REDIS_URL)
    workers = [worker.start() for worker in procfile_workers(env)]
    try:
        send_bulk_notifications.delay(notification.pk)
        wait_until(lambda: bulk_mails(smtp) >= 200, 120, "the bulk send to be under way")

        response = client.post("/api/password-reset/", {"email": "forgetful@example.com"},
                               content_type="application/json", REMOTE_ADDR="192.0.2.71")
        assert response.status_code == 200
        wait_until(lambda: "at_arrival" in seen, 60, "the reset email")

        assert seen["at_arrival"] < total  # bulk mails before it: the send was still running
        # Noted at RCPT; the message itself is kept once its DATA is in.
        reset = wait_until(lambda: next((m for m in smtp.messages
                                         if m["X-Envelope-To"] == "forgetful@example.com"),
                                        None), 30, "the reset email's message")
        assert "password" in reset["Subject"].lower()
        wait_until(lambda: Notification.objects.get(pk=notification.pk).status == "sent", 120,
                   "the bulk send to finish")
    finally:
        for worker in workers:
            worker.stop()
    assert OutgoingEmail.objects.filter(notification=notification, status="sent").count() == total
    sent_to = [m["X-Envelope-To"] for m in smtp.messages if m["Subject"] == "Bulk"]
    assert len(sent_to) == len(set(sent_to)) == total  # every recipient exactly once


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_bulk_rate_limit_does_not_hold_welcome_email(smtp, only_our_workers):
    limit = 5
    notification = bulk_notification(40, "capped")
    seen = {}

    def spent_this_minute():
        return cache.get(f"notifications:rate:{int(time.time() // 60)}") or 0

    note_arrival(smtp, "newcomer@example.com", seen, spent_this_minute)
    workers = [worker.start() for worker in
               procfile_workers({**smtp.env(), "EMAIL_RATE_LIMIT_PER_MINUTE": str(limit)})]
    try:
        send_bulk_notifications.delay(notification.pk)
        # Not near a minute's end, so the welcome email goes out in a minute already spent.
        wait_until(lambda: time.time() % 60 < 50 and spent_this_minute() >= limit, 90,
                   "the bulk send to spend this minute's budget")

        user_register(username="newcomer", email="newcomer@example.com",
                      password="a-long-new-password-7")
        wait_until(lambda: "at_arrival" in seen, 60, "the welcome email")

        assert seen["at_arrival"] >= limit
        assert OutgoingEmail.objects.filter(notification=notification,
                                       status__in=("pending", "sending")).exists()
    finally:
        for worker in workers:
            worker.kill()  # the bulk batch sleeps until its next minute; do not wait for it
