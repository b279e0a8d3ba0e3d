"""Seconds from SIGKILL of the mail worker to the held reset email and bulk batch arriving.

A worker (email and bulk queues) sends a password-reset email and a 30-recipient
notification into an SMTP server that holds the first attempt of the reset email and of
one bulk recipient. The worker's whole process group is killed while both are held; a new
worker starts at once, and beat runs the default schedules (the outgoing-email sweep every
minute). With the default lease (EMAIL_LEASE_SECONDS), `seconds.reset` and `seconds.bulk`
are the times from the kill until each held message has gone out; target ≤ 120 s each.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from notifications import services
from notifications.models import Notification, OutgoingEmail
from tests.processes import CeleryBeat, CeleryWorker, HoldingSink, wait_until

RESET_TO = "bench-reset@example.com"
HELD_BULK = "benchrecovery0@example.com"
TARGET_SECONDS = 120


def _cleanup() -> None:
    Notification.objects.filter(subject="Recovery bench").delete()
    OutgoingEmail.objects.filter(to_email=RESET_TO).delete()
    User.objects.filter(username__startswith="benchrecovery").delete()
    User.objects.filter(username="bench-resetter").delete()


def run(size: int | None) -> dict:
    count = size or 30
    _cleanup()
    call_command("setup_schedules", verbosity=0)
    sink = HoldingSink({RESET_TO, HELD_BULK}).start()
    env = {**sink.env()}
    first = CeleryWorker(concurrency=2, queues=("email", "bulk"), extra_env=env).start()
    beat = CeleryBeat()
    beat.env.update(env)
    beat.start()
    second = None
    try:
        user = User.objects.create_user("bench-resetter", RESET_TO, "!")
        User.objects.bulk_create([User(username=f"benchrecovery{n}",
                                       email=f"benchrecovery{n}@example.com", password="!")
                                  for n in range(count)])
        notification = Notification.objects.create(subject="Recovery bench", text_body="hi",
                                                   audience="users")
        notification.users.set(User.objects.filter(username__startswith="benchrecovery"))
        with transaction.atomic():
            reset = services.email_schedule(kind="password_reset", user=user)
        services.notification_start(notification_id=notification.pk)
        wait_until(lambda: sink.held == sink.hold, 60, "both messages held")
        first.kill()
        killed_at = time.perf_counter()
        print("  worker killed with both messages held", flush=True)
        sink.release()
        second = CeleryWorker(concurrency=2, queues=("email", "bulk"), extra_env=env).start()
        arrived = {}
        deadline = killed_at + 300
        while len(arrived) < 2 and time.perf_counter() < deadline:
            received = {m["X-Envelope-To"] for m in sink.messages}
            for name, address in (("reset", RESET_TO), ("bulk", HELD_BULK)):
                if name not in arrived and address in received:
                    arrived[name] = round(time.perf_counter() - killed_at, 2)
                    print(f"  {name}: {arrived[name]}s after the kill", flush=True)
            time.sleep(0.1)
        reset_row = OutgoingEmail.objects.get(pk=reset.email_id)
    finally:
        beat.stop()
        for worker in (first, second):
            if worker is not None:
                worker.stop()
        sink.release()
        sink.stop()
        _cleanup()
    return {
        "bench": "mail_recovery",
        "seconds": {"reset": arrived.get("reset"), "bulk": arrived.get("bulk")},
        "target_seconds": TARGET_SECONDS,
        "meets_target": all(arrived.get(name, 1e9) <= TARGET_SECONDS
                            for name in ("reset", "bulk")),
        "reset_status": reset_row.status,
        "size": {"recipients": count, "lease_seconds": settings.EMAIL_LEASE_SECONDS,
                 "sweep_every_seconds": 60},
    }
