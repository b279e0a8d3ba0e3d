"""Locks in Redis, the one implementation every app uses.

A lock is held for a `with` block and expires by itself after its timeout, so a process
killed while holding it never blocks the next holder for longer than that. Jobs (backups,
restores, cleanups) run one at a time across all hosts under `job_lock`.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from django.conf import settings
from redis.exceptions import LockError, RedisError

from backoffice.redis_client import redis_client

LOCK_KEY = "backoffice:lock:{}"
logger = logging.getLogger(__name__)


class LockTaken(RuntimeError):
    """Someone else holds the lock."""


class JobLocked(LockTaken):
    """Another run of the same job holds the lock."""


@contextmanager
def redis_lock(name: str, *, timeout: float, wait: float = 0,
               refused: Exception | None = None):
    """Hold the lock `name` for the block, expiring after `timeout` seconds.

    Waits up to `wait` seconds for it (0: not at all), then raises `refused` (by default
    LockTaken) without running the block.
    """
    lock = redis_client().lock(LOCK_KEY.format(name), timeout=timeout, blocking=wait > 0,
                               blocking_timeout=wait or None)
    if not lock.acquire():
        raise refused or LockTaken(f"{name} is locked by someone else")
    try:
        yield lock
    finally:
        try:
            lock.release()
        except LockError:
            pass  # expired meanwhile: nothing left to release
        except RedisError as exc:
            # What the block did stands (a backup made, a run recorded); the lock expires.
            logger.warning("could not release lock %s (%s); it expires within %ss",
                           name, exc, timeout)


def lock_timeout() -> int:
    """How long a job's lock lives: the task's hard time limit plus a margin."""
    return settings.CELERY_TASK_TIME_LIMIT + 60


def job_lock(name: str):
    """Hold the job lock `name` for the block, or raise JobLocked at once if it is taken."""
    return redis_lock(name, timeout=lock_timeout(),
                      refused=JobLocked(f"another {name} is running; try again when it has "
                                        "finished"))

