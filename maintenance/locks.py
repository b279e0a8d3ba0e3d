"""Job locks in Redis: backups, restores and cleanups run one at a time across all hosts.

A lock expires by itself after the task's hard time limit (plus a margin), so a worker that
was killed mid-job never blocks the next run for longer than that.
"""

from __future__ import annotations

from contextlib import contextmanager, suppress

from django.conf import settings
from redis.exceptions import LockError

from maintenance.broker import redis_client

LOCK_KEY = "backoffice:lock:{}"


class JobLocked(RuntimeError):
    """Another run of the same job holds the lock."""


def lock_timeout() -> int:
    return settings.CELERY_TASK_TIME_LIMIT + 60


@contextmanager
def job_lock(name: str):
    """Hold the lock `name` for the block, or raise JobLocked at once if it is taken."""
    lock = redis_client().lock(LOCK_KEY.format(name), timeout=lock_timeout(), blocking=False)
    if not lock.acquire():
        raise JobLocked(f"another {name} is running; try again when it has finished")
    try:
        yield lock
    finally:
        with suppress(LockError):  # expired meanwhile: nothing left to release
            lock.release()


def job_is_locked(name: str) -> bool:
    return bool(redis_client().exists(LOCK_KEY.format(name)))
