"""The broker is down: what waits for it goes out once it is back, once.

A user registers: 201 anyway, the email waits, the sweep sends it. Everything there is a
real process on its own loopback port: a private redis-server (killed and restarted),
gunicorn serving the project, a Celery worker and beat; the shared test Redis is never
touched. Send now: the press says the broker is unreachable, nothing is queued or
delivered, and the sweep sends it when the broker is back.
"""

import json
import sys
import urllib.request

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backoffice.launcher import redis_answers
from notifications import services
from notifications.apps import SWEEP_TASK, SWEEP_TASK_NAME
from notifications.models import Notification, OutgoingEmail
from notifications.tasks import drain_notification, sweep_outgoing_email
from notifications.tests.helpers import (
    final,
    finished,
    received_by_recipient,
)
from operations.models import TaskRun
from tests.people import staff_with
from tests.processes import (
    CeleryBeat,
    CeleryWorker,
    ManagedProcess,
    PrivateRedis,
    free_port,
    subprocess_env,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def post_json(url, payload):
    request = urllib.request.Request(url, json.dumps(payload).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def worker_ready(worker):
    return f"{worker.hostname} ready." in worker.log_tail(200)


@pytest.fixture
def stack(smtp):
    port = free_port()
    redis = PrivateRedis(port).start()
    env = {"TEST_REDIS_URL": redis.url}
    web_port = free_port()
    web = ManagedProcess(f"web-{web_port}", [
        sys.executable, "-m", "gunicorn", "backoffice.wsgi", "--bind",
        f"127.0.0.1:{web_port}", "--workers", "1", "--threads", "2",
    ], subprocess_env(**env)).start()
    worker = CeleryWorker(extra_env={**smtp.env(), **env})
    beat = CeleryBeat()
    beat.env.update(env)
    processes = [web, worker, beat, redis]
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{web_port}/api/public/"), 60, "gunicorn")
        yield {"redis": redis, "port": port, "web": f"http://127.0.0.1:{web_port}",
               "worker": worker, "beat": beat, "processes": processes}
    finally:
        for process in processes:
            process.stop()


def test_registration_while_broker_is_down_is_sent_when_it_is_back(stack, smtp):
    stack["redis"].stop()
    assert not redis_answers(stack["redis"].url, timeout=0.2)

    status, body = post_json(f"{stack['web']}/api/register/", {
        "username": "offline", "email": "offline@example.com",
        "password": "Broker-down-but-fine-1", "first_name": "Off",
    })

    assert status == 201 and body["email_queued"] is False
    email = OutgoingEmail.objects.get(user__username=body["username"])
    assert email.status == "pending" and "queue unreachable" in email.last_error

    # Redis comes back; beat runs the sweep (every second here), a worker sends the email.
    redis = PrivateRedis(stack["port"]).start()
    stack["processes"].append(redis)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1,
                                                             period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(name=SWEEP_TASK_NAME,
                                          defaults={"task": SWEEP_TASK, "interval": every_second})
    worker = stack["worker"]
    ManagedProcess.start(worker)
    wait_until(lambda: worker_ready(worker), 60, "worker on the private redis")
    stack["beat"].start()

    [message] = smtp.wait_for(1, timeout=60)
    assert message["To"] == "offline@example.com"
    email = final(email)
    assert email.status == "sent" and email.attempts == 1
    # Two more sweeps finish after the email is sent; neither sends it again.
    sent_at = timezone.now()
    wait_until(lambda: TaskRun.objects.filter(name=SWEEP_TASK, state=TaskRun.State.SUCCESS,
                                              finished_at__gt=sent_at).count() >= 2,
               60, "two more sweeps")
    assert len(smtp.messages) == 1


def test_send_now_while_the_broker_is_down_is_sent_by_the_sweep_when_it_is_back(
        client, celery_worker, smtp, broker_down):
    notification = Notification.objects.create(
        subject="Sent after the outage", text_body="hello", audience="addresses",
        addresses="ada@example.com\nbob@example.com")
    client.force_login(staff_with("opal", "view_notification", "send_notification"))
    confirm = reverse("admin:notifications_notification_send", args=[notification.pk])
    change = reverse("admin:notifications_notification_change", args=[notification.pk])

    response = client.post(confirm, {"confirm": "yes"}, follow=True)

    assert response.status_code == 200 and response.redirect_chain == [(change, 302)]
    [message] = [str(m) for m in response.context["messages"]]
    assert message == ("Started, but the broker is unreachable; the sweep sends it when the "
                       "broker is back.")
    notification.refresh_from_db()
    # Taken for this send (a second press says "Already sending"), its rows waiting.
    assert notification.status == "sending" and notification.drain_queued_at is None
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {"pending"}
    assert not TaskRun.objects.exclude(name=SWEEP_TASK).exists()  # the worker's start-up sweep

    broker_down.restore()
    sweep_outgoing_email.delay()  # what beat sends every minute

    assert finished(notification, timeout=60).status == "sent"
    assert received_by_recipient(smtp, "Sent after the outage") == {
        "ada@example.com": 1, "bob@example.com": 1}


def test_a_drain_that_cannot_queue_the_next_leaves_the_rest_to_the_sweep(
        settings, smtp, broker_down, celery_worker):
    """A task queueing another with the broker down: the rule of backoffice.enqueue, with
    the rest of the work in rows that the sweep queues again when the broker is back."""
    settings.NOTIFICATION_BATCH_SIZE = 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    notification = Notification.objects.create(
        subject="Drained after the outage", text_body="hello", audience="addresses",
        addresses="ada@example.com\nbob@example.com\ncy@example.com")
    services.notification_start(notification_id=notification.pk)  # its drain not queued

    outcome = drain_notification(notification.pk)  # as a worker runs it, in this process

    assert outcome["sent"] == 1 and outcome["finished"] is False
    notification.refresh_from_db()
    assert notification.status == "sending" and notification.drain_queued_at is None
    assert OutgoingEmail.objects.filter(notification=notification,
                                        status="pending").count() == 2

    broker_down.restore()
    sweep_outgoing_email.delay()  # what beat sends every minute

    assert finished(notification, timeout=60).status == "sent"
    assert received_by_recipient(smtp, "Drained after the outage") == {
        "ada@example.com": 1, "bob@example.com": 1, "cy@example.com": 1}
