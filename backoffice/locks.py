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



SLOT_KEY = "backoffice:slot:{}:{}"
SLOT_HEADER = "scheduled_slot"
SLOT_KEEP_SECONDS = 3 * 24 * 3600


def scheduled_slot_taken(request) -> str | None:
    """Why this run of a scheduled task must not do its work (None: it must).

    Beat stamps each message it sends with the periodic task's name and the slot it was due
    for (`scheduled_slot`). The first message of a slot claims it; another message for the
    same slot (a restarted beat sending it again) is told the slot already ran, while a
    redelivery of the claiming message itself (its worker died) runs again. Messages not
    sent by beat always run. If Redis cannot be asked, the run goes ahead.
    """
    name, slot = request.get("periodic_task_name"), request.get(SLOT_HEADER)
    if not name or not slot or not request.id:
        return None
    key = SLOT_KEY.format(name, slot)
    try:
        client = redis_client()
        if client.set(key, request.id, nx=True, ex=SLOT_KEEP_SECONDS):
            return None
        holder = client.get(key)
    except RedisError as exc:
        logger.warning("could not check the schedule slot of %s (%s); running it", name, exc)
        return None
    holder = holder.decode() if isinstance(holder, bytes) else holder
    if holder == request.id:
        return None
    return f"{name} already ran for its slot {slot} (task {holder})"
