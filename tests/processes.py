"""Real processes for tests and benchmarks: a Celery worker, beat, and an SMTP sink.

Nothing here mocks Celery, Redis or SMTP; these helpers only start and stop the real
things with the test database and the test Redis database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from django.conf import settings
from django.db import connections

from backoffice.launcher import redis_answers, redis_server_binary

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "var" / "test-logs"


def database_url_for_subprocess() -> str:
    """The URL of the database this process uses now (the test database during tests)."""
    config = connections["default"].settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{config['NAME']}"
    credentials = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
    host = config["HOST"] or "127.0.0.1"
    port = config["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{config['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child that must see the same database, Redis and settings."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "backoffice.settings.test"
        ),
        "DATABASE_URL": database_url_for_subprocess(),
        # Test and bench settings each read their own variable for their Redis database.
        "TEST_REDIS_URL": settings.REDIS_URL,
        "BENCH_REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # only the browser tests' own process needs it
    env.pop("TEST_REDIS_URLS", None)  # the child uses TEST_REDIS_URL, this process's database
    env.update(extra)
    return env


def wait_until(predicate, timeout: float = 30, what: str = "condition", *,
               interval: float = 0.1):
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ManagedProcess:
    """A child process in its own session, logged to var/test-logs, stopped on exit."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name, self.argv, self.env = name, argv, env
        self.process: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}.log"

    def start(self) -> ManagedProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            self.argv, env=self.env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_answering(self, answers, timeout: float, what: str) -> None:
        """Wait until `answers()` is true; fail at once, with the log, if the process exits."""
        def check():
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            return answers()
        wait_until(check, timeout, what, interval=0.2)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the whole process group (the worker and its pool children)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 9)
        self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


class CeleryWorker(ManagedProcess):
    """`celery -A backoffice worker` on every project queue, against the test database."""

    def __init__(self, *, concurrency: int = 2, queues: tuple[str, ...] | None = None,
                 pool: str = "prefork", extra_env: dict[str, str] | None = None):
        self.hostname = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        queues = queues or settings.CELERY_QUEUE_NAMES
        argv = [
            sys.executable, "-m", "celery", "-A", "backoffice", "worker",
            "--hostname", self.hostname, "--queues", ",".join(queues),
            "--concurrency", str(concurrency), "--pool", pool,
            "--without-mingle", "--without-gossip", "--loglevel", "INFO",
        ]
        super().__init__(self.hostname.split("@")[0], argv, subprocess_env(**(extra_env or {})))

    def start(self, timeout: float = 60) -> CeleryWorker:
        super().start()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        from celery import current_app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"worker exited early:\n{self.log_tail()}")
            if current_app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        self.stop()
        raise RuntimeError(f"worker did not answer a ping in {timeout}s:\n{self.log_tail()}")


class CeleryBeat(ManagedProcess):
    """`celery -A backoffice beat` with the project's heartbeat scheduler."""

    def __init__(self):
        argv = [sys.executable, "-m", "celery", "-A", "backoffice", "beat", "--loglevel", "INFO",
                "--pidfile="]
        super().__init__(f"beat-{uuid.uuid4().hex[:6]}", argv, subprocess_env())


class PrivateRedis(ManagedProcess):
    """A redis-server of the test's own on `port`, keeping nothing on disk: a restart is
    empty."""

    def __init__(self, port: int):
        self.url = f"redis://127.0.0.1:{port}/0"
        super().__init__(f"redis-{port}", [
            redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
            "--appendonly", "no", "--daemonize", "no",
        ], subprocess_env())

    def start(self):
        super().start()
        wait_until(lambda: redis_answers(self.url, timeout=0.2), 15, "private redis")
        return self


class SmtpSink:
    """An aiosmtpd server on a free loopback port that keeps every message it receives.

    `fail_rules` lets a test make the server answer like a real provider: a callable
    (recipient, attempt_number) -> None or an SMTP reply string such as "451 try later".
    """

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.attempts: dict[str, int] = {}
        self.fail_rule = None
        self._lock = threading.Lock()
        self.port = free_port()  # aiosmtpd's Controller cannot take port 0
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
            attempt = self.attempts[address]
        if self.fail_rule is not None:
            reply = self.fail_rule(address, attempt)
            if reply:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw)
        message.raw_bytes = raw  # as received, for checks over the exact bytes (signatures)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        message["X-Envelope-From"] = envelope.mail_from
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.attempts.clear()
            self.fail_rule = None

    def env(self) -> dict[str, str]:
        """Settings that point a child process's email at this sink."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "EMAIL_URL": "",
        }

    def wait_for(self, count: int, timeout: float = 60) -> list[Message]:
        """The messages received, once there are at least `count` (the session's worker
        may still be finishing an earlier test's work first)."""
        def enough():
            with self._lock:
                return list(self.messages) if len(self.messages) >= count else None

        try:
            return wait_until(enough, timeout, f"{count} messages", interval=0.05)
        except AssertionError:
            raise AssertionError(f"expected {count} messages, got {len(self.messages)}") from None


class HoldingSink(SmtpSink):
    """An SMTP server that holds the first attempt to each address in `hold` until
    `release()` (without blocking its other connections)."""

    def __init__(self, hold: set[str]):
        super().__init__()
        self.hold, self.held, self.released = hold, set(), False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.hold and address not in self.held:
            self.held.add(address)
            while not self.released:
                await asyncio.sleep(0.05)
            return "421 4.4.2 held, then the connection was gone"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    def release(self):
        self.released = True


