"""A whole mail worker dies while the SMTP server holds a password-reset email and a bulk
batch: once a worker is back, both lanes' messages go out after the lease and a sweep, with
at most one duplicate per message that was on the wire. Under the test settings and under
the development settings that `make run` uses."""

import collections

import pytest
from django.conf import settings
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import User
from notifications import services
from notifications.apps import SWEEP_TASK, SWEEP_TASK_NAME
from notifications.models import Notification, OutgoingEmail
from notifications.tests.helpers import finished, make_users
from tests.processes import CeleryBeat, CeleryWorker, HoldingSink, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# A short lease (it still outlasts an SMTP exchange of EMAIL_TIMEOUT, as the settings
# demand) and a sweep every second, so recovery happens within a test.
LEASE = {"EMAIL_LEASE_SECONDS": "8", "EMAIL_TIMEOUT": "1", "NOTIFICATION_BATCH_SIZE": "10"}


@pytest.fixture
def holding_sink():
    sink = HoldingSink({"reset-me@example.com", "bulk0@example.com"}).start()
    yield sink
    sink.release()
    sink.stop()


@pytest.mark.parametrize("settings_module", ["backoffice.settings.test",
                                             "backoffice.settings.dev"])
def test_a_killed_mail_worker_loses_neither_lane(settings_module, holding_sink,
                                                  only_our_workers):
    env = {**holding_sink.env(), **LEASE, "DJANGO_SETTINGS_MODULE": settings_module,
           "REDIS_URL": settings.REDIS_URL, "MAIL_CATCHER": "false"}
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(name=SWEEP_TASK_NAME, defaults={
        "task": SWEEP_TASK, "interval": every_second, "enabled": True})
    first = CeleryWorker(concurrency=2, queues=("email", "bulk"), extra_env=env).start()
    user = User.objects.create_user("resetter", "reset-me@example.com", "pw-Long-enough-1")
    make_users(30, "bulk")
    notification = Notification.objects.create(subject="Held batch", text_body="hello")
    with transaction.atomic():
        reset = services.email_schedule(kind="password_reset", user=user)
    services.notification_start(notification_id=notification.pk)
    wait_until(lambda: holding_sink.held == holding_sink.hold, 60, "both messages held")

    first.kill()  # SIGKILL to the worker's whole process group: the host is gone
    rows = OutgoingEmail.objects.filter(status="sending")
    assert {reset.email_id} <= set(rows.values_list("pk", flat=True))
    assert rows.filter(notification=notification).exists()
    holding_sink.release()

    second = CeleryWorker(concurrency=2, queues=("email", "bulk"), extra_env=env).start()
    beat = CeleryBeat()
    beat.env.update(env)
    beat.start()
    try:
        email = OutgoingEmail.objects.get(pk=reset.email_id)
        wait_until(lambda: email.refresh_from_db() or email.status == "sent", 90,
                   "the held reset email")
        assert finished(notification, timeout=90).status == "sent"
    finally:
        beat.stop()
        second.stop()
    resets = [m for m in holding_sink.messages if "password" in m["Subject"].lower()]
    assert [m["X-Envelope-To"] for m in resets] == ["reset-me@example.com"]  # held one lost
    received = collections.Counter(m["X-Envelope-To"] for m in holding_sink.messages
                                   if m["Subject"] == "Held batch")
    bulk = {f"bulk{n}@example.com" for n in range(30)}
    assert {address for address in received if address in bulk} == bulk
    # At most one duplicate per message on the wire: the dead worker's batch in flight.
    assert max(received[address] for address in bulk) <= 2
