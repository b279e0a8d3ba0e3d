"""10,000 recipients: our bulk send vs send_mail in a loop vs one raw smtplib connection.

The body is personalised (`{{ first_name }}`), so ours renders it per recipient.
`seconds.ours`: `send_bulk_notifications` through Redis and one worker (concurrency 2) into
an aiosmtpd sink, from "send" until the last OutgoingEmail row is final.
`seconds.naive`: Django's `send_mail` per recipient in a loop (a connection per message).
`seconds.limit`: one `smtplib` connection sending the very bytes ours sends (made before the
clock starts: no rendering, database or Celery). `seconds.limit_plain`: the same, with Django's
rendering of the text and HTML but none of the bulk headers and unsubscribe footer ours must
add (smaller messages, so a lower anchor). The sink runs in its own process for all of them;
`cpu_seconds` gives the sender's and the sink's CPU for ours and the limit.
"""

from __future__ import annotations

import smtplib
import socket
import sys
import time

import psutil
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection, send_mail
from django.test.utils import override_settings

from accounts.models import User
from bench.common import stopwatch
from notifications.compose import BulkMessage, Recipient
from notifications.models import Notification, OutgoingEmail
from notifications.tasks import send_bulk_notifications
from tests.processes import CeleryWorker, ManagedProcess, free_port, wait_until

SUBJECT = "Bench notification"
# Personalised, as staff write them: each recipient's message is rendered from these.
HTML = ("<p>Hello {{ first_name|default:'there' }},</p><p>This is the <b>monthly update</b> "
        "with a few lines of text.</p>")
TEXT = ("Hello {{ first_name|default:'there' }},\n"
        "This is the monthly update with a few lines of text.")


def _filled(template: str, n: int) -> str:
    """The message as recipient `n` gets it, for the baselines that do not personalise."""
    return template.replace("{{ first_name|default:'there' }}", f"Reader{n}")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live children so far."""
    total = 0.0
    root = psutil.Process(pid)
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _start_sink() -> tuple[ManagedProcess, int]:
    port = free_port()
    sink = ManagedProcess("bench-smtp-sink", [
        sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
        "-c", "aiosmtpd.handlers.Sink"], {}).start()
    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    wait_until(answers, 20, f"the SMTP sink on port {port}")
    return sink, port


def _ours(count: int, port: int) -> tuple[float, float]:
    User.objects.filter(username__startswith="bulkbench").delete()
    User.objects.bulk_create([User(username=f"bulkbench{n}", email=f"bulkbench{n}@example.com",
                                   first_name=f"Reader{n}", password="!")
                              for n in range(count)], batch_size=2000)
    notification = Notification.objects.create(subject=SUBJECT, html_body=HTML, text_body=TEXT,
                                               audience="users")
    notification.users.set(User.objects.filter(username__startswith="bulkbench"))
    env = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_URL": ""}
    worker = CeleryWorker(concurrency=2, queues=("email", "bulk"), extra_env=env).start()
    try:
        cpu_before = tree_cpu(worker.process.pid)
        with stopwatch() as elapsed:
            send_bulk_notifications.delay(notification.pk)
            while True:
                notification.refresh_from_db(fields=["status"])
                if notification.status not in ("draft", "sending"):
                    break
                time.sleep(0.05)
        seconds = elapsed()
        worker_cpu = tree_cpu(worker.process.pid) - cpu_before
    finally:
        worker.stop()
    sent = OutgoingEmail.objects.filter(notification=notification, status="sent").count()
    print(f"  ours: {sent}/{count} sent in {seconds:.2f}s ({notification.status})", flush=True)
    assert sent == count, f"only {sent} of {count} sent"
    Notification.objects.filter(pk=notification.pk).delete()
    User.objects.filter(username__startswith="bulkbench").delete()
    return seconds, worker_cpu


def _naive(count: int, port: int) -> float:
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                           EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_USE_TLS=False,
                           EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD=""), stopwatch() as elapsed:
        for n in range(count):
            send_mail(SUBJECT, _filled(TEXT, n), settings.DEFAULT_FROM_EMAIL,
                      [f"naive{n}@example.com"], html_message=_filled(HTML, n))
    print(f"  naive: {count} send_mail calls in {elapsed():.2f}s", flush=True)
    return elapsed()


def _plain_messages(count: int) -> list[tuple[str, bytes]]:
    """Django's rendering of the same text and HTML, without the bulk headers and footer."""
    connection = get_connection("django.core.mail.backends.locmem.EmailBackend")
    rendered = []
    for n in range(count):
        message = EmailMultiAlternatives(SUBJECT, _filled(TEXT, n), settings.DEFAULT_FROM_EMAIL,
                                         [f"limit{n}@example.com"], connection=connection)
        message.attach_alternative(_filled(HTML, n), "text/html")
        rendered.append((message.to[0], message.message().as_bytes()))
    return rendered


def _our_messages(count: int) -> list[tuple[str, bytes]]:
    """The bytes our bulk send writes for each recipient (List-Unsubscribe headers and the
    unsubscribe footer included), made before the clock starts."""
    composer = BulkMessage(Notification(pk=1, subject=SUBJECT, html_body=HTML, text_body=TEXT))
    rendered = []
    for n in range(count):
        address = f"limit{n}@example.com"
        made = composer.outgoing(Recipient(email=address, first_name=f"Reader{n}"), n + 1)
        rendered.append((address, made.payload))
    return rendered


def _limit(rendered: list[tuple[str, bytes]], port: int) -> tuple[float, float]:
    """Wall and CPU seconds of one smtplib connection sending `rendered`."""
    cpu_before = time.process_time()
    with stopwatch() as elapsed:
        server = smtplib.SMTP("127.0.0.1", port)
        for recipient, payload in rendered:
            server.sendmail(settings.DEFAULT_FROM_EMAIL, [recipient], payload)
        server.quit()
    client_cpu = time.process_time() - cpu_before
    print(f"  limit: {len(rendered)} messages of {len(rendered[0][1])} bytes over one smtplib "
          f"connection in {elapsed():.2f}s", flush=True)
    return elapsed(), client_cpu


def run(size: int | None) -> dict:
    count = size or 10_000
    sink, port = _start_sink()
    try:
        limit_plain, _ = _limit(_plain_messages(count), port)
        sink_cpu = [tree_cpu(sink.process.pid)]
        limit, limit_cpu = _limit(_our_messages(count), port)
        sink_cpu.append(tree_cpu(sink.process.pid))
        ours, ours_cpu = _ours(count, port)
        sink_cpu.append(tree_cpu(sink.process.pid))
        naive = _naive(count, port)
    finally:
        sink.stop()
    return {
        "bench": "bulk_send",
        "seconds": {"ours": round(ours, 3), "naive": round(naive, 3), "limit": round(limit, 3),
                    "limit_plain": round(limit_plain, 3)},
        "ratio": {"ours_to_limit": round(ours / limit, 2),
                  "ours_to_limit_plain": round(ours / limit_plain, 2)},
        # Sender CPU: ours is the worker and its pool processes (Celery, database, rendering,
        # SMTP client); the limit's is one smtplib loop. The sink's is the SMTP server's.
        "cpu_seconds": {"ours": round(ours_cpu, 3), "limit": round(limit_cpu, 3),
                        "sink_during_ours": round(sink_cpu[2] - sink_cpu[1], 3),
                        "sink_during_limit": round(sink_cpu[1] - sink_cpu[0], 3)},
        "size": {"recipients": count, "worker_concurrency": 2,
                 "batch_size": settings.NOTIFICATION_BATCH_SIZE},
    }
