"""Password-reset email latency with the queues idle and during a 10,000-recipient bulk send.

`seconds.idle` and `seconds.during_bulk`: from `password_reset_request` (what
`POST /api/password-reset/` calls) until the message is at an aiosmtpd sink running in
this process; median of a few requests each, with the worker layout of the Procfile (a
worker on every queue, concurrency 2, plus one for `email` only, concurrency 1). The bulk
send goes into the same sink. Target: `during_bulk` at most `idle` + 1 s, every
during-bulk reset having arrived while the bulk send was still running.
`BENCH_LANES=ordered` runs the layout without the dedicated `email` worker.
"""

from __future__ import annotations

import os
import threading
import time

from aiosmtpd.controller import Controller
from celery import current_app
from django.conf import settings

from accounts.models import User
from accounts.services import password_reset_request
from bench.common import median
from notifications.models import Notification, OutgoingEmail
from notifications.tasks import send_bulk_notifications
from tests.processes import CeleryWorker, free_port

REQUESTS = 5
PREFIX = "latbench"
LAYOUTS = {
    # name: [(queues, concurrency), ...]
    "dedicated": [(settings.CELERY_QUEUE_NAMES, 2), (("email",), 1)],
    "ordered": [(settings.CELERY_QUEUE_NAMES, 2)],
}


class ArrivalSink:
    """Counts bulk messages and notes when each reset message arrives."""

    def __init__(self):
        self.bulk = 0
        self.arrived: dict[str, float] = {}
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        now = time.perf_counter()
        with self._lock:
            for address in envelope.rcpt_tos:
                if address.startswith(f"{PREFIX}-reset"):
                    self.arrived[address] = now
                else:
                    self.bulk += 1
        return "250 OK"

    def wait_for(self, address: str, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if address in self.arrived:
                    return self.arrived[address]
            time.sleep(0.005)
        raise TimeoutError(f"no reset email for {address} in {timeout}s")


def _reset_latency(sink: ArrivalSink, user: User) -> float:
    started = time.perf_counter()
    password_reset_request(email=user.email)
    return sink.wait_for(user.email) - started


def _bulk_status(notification_id: int) -> str:
    return Notification.objects.values_list("status", flat=True).get(pk=notification_id)


def _cleanup() -> None:
    Notification.objects.filter(subject__startswith=PREFIX).delete()
    User.objects.filter(username__startswith=PREFIX).delete()


def run(size: int | None) -> dict:
    count = size or 10_000
    layout = os.environ.get("BENCH_LANES", "dedicated")
    _cleanup()
    redis = current_app.connection_for_write().default_channel.client
    redis.delete(*settings.CELERY_QUEUE_NAMES)
    resetters = [User.objects.create_user(f"{PREFIX}-reset{n}", f"{PREFIX}-reset{n}@example.com",
                                          "pw-not-used-9") for n in range(2 * REQUESTS)]
    User.objects.bulk_create([User(username=f"{PREFIX}{n}", email=f"{PREFIX}{n}@example.com",
                                   password="!") for n in range(count)], batch_size=2000)
    notification = Notification.objects.create(
        subject=f"{PREFIX} notification", html_body="<p>Hello, this is the monthly update.</p>",
        text_body="Hello, this is the monthly update.", audience="users")
    notification.users.set(User.objects.filter(username__startswith=PREFIX)
                           .exclude(username__startswith=f"{PREFIX}-reset"))
    sink = ArrivalSink()
    sink.controller.start()
    env = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port), "EMAIL_URL": ""}
    workers = []
    try:
        for queues, concurrency in LAYOUTS[layout]:
            workers.append(CeleryWorker(concurrency=concurrency, queues=queues,
                                        extra_env=env).start())
        print(f"layout {layout}: " + "; ".join(
            f"{','.join(q)} x{c}" for q, c in LAYOUTS[layout]), flush=True)
        idle = []
        for user in resetters[:REQUESTS]:
            idle.append(_reset_latency(sink, user))
            print(f"  idle: {idle[-1]:.3f}s", flush=True)

        started = time.perf_counter()
        send_bulk_notifications.delay(notification.pk)
        while sink.bulk < 500:  # batches are being sent
            time.sleep(0.01)
        during, still_running = [], []
        for user in resetters[REQUESTS:]:
            during.append(_reset_latency(sink, user))
            pending = OutgoingEmail.objects.filter(notification=notification,
                                              status__in=("pending", "sending")).count()
            still_running.append(pending > 0 and _bulk_status(notification.pk) == "sending")
            print(f"  during bulk: {during[-1]:.3f}s ({sink.bulk} bulk mails sent, "
                  f"{pending} pending)", flush=True)
            time.sleep(0.3)
        while _bulk_status(notification.pk) in ("draft", "sending"):
            time.sleep(0.05)
        bulk_seconds = time.perf_counter() - started
        sent_rows = OutgoingEmail.objects.filter(notification=notification, status="sent").count()
        print(f"  bulk send: {sent_rows} rows sent, {sink.bulk} mails at the sink, in "
              f"{bulk_seconds:.2f}s ({_bulk_status(notification.pk)})", flush=True)
    finally:
        for worker in workers:
            worker.stop()
        sink.controller.stop()
        _cleanup()
    idle_median, during_median = median(idle), median(during)
    return {
        "bench": "transactional_latency",
        "seconds": {"idle": idle_median, "during_bulk": during_median,
                    "during_bulk_max": round(max(during), 4), "bulk_send": round(bulk_seconds, 3)},
        "bulk_mails": {"rows_sent": sent_rows, "at_sink": sink.bulk},
        "meets_target": during_median <= idle_median + 1 and all(still_running),
        "all_during_bulk": all(still_running),
        "size": {"recipients": count, "requests": REQUESTS, "layout": layout,
                 "workers": [{"queues": list(q), "concurrency": c} for q, c in LAYOUTS[layout]],
                 "batch_size": settings.NOTIFICATION_BATCH_SIZE},
    }
