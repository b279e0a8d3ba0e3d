"""Beat's liveness: a scheduler that records a heartbeat in Redis, and the reads of it."""

import logging
import time

from celery import schedules
from celery.beat import SchedulingError
from celery.utils.time import maybe_make_aware
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, InterfaceError
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from backoffice.enqueue import BROKER_ERRORS
from backoffice.locks import SLOT_HEADER
from backoffice.message_options import message_options_safe
from backoffice.redis_client import redis_client

logger = logging.getLogger(__name__)

BEAT_HEARTBEAT_KEY = "backoffice:beat:heartbeat"
HEARTBEAT_EVERY_SECONDS = 5


class CheckedEntry(ModelEntry):
    """A periodic task row as beat sends it: only allowed headers and routing (see
    backoffice.message_options), whatever was written to the row."""

    def __init__(self, model, app=None):
        super().__init__(model, app=app)
        expires = self.options.get("expires")
        self.options = message_options_safe(model)
        if expires is not None:
            self.options["expires"] = expires


def scheduled_slot(entry) -> str:
    """The time `entry` was due at, from its last run before this one: the same for every
    send of one due run, whoever sends it and however often."""
    last = maybe_make_aware(entry.last_run_at)
    schedule = entry.schedule
    if isinstance(schedule, schedules.crontab):
        start, delta, _ = schedule.remaining_delta(last)
        due = start + delta
    elif isinstance(schedule, schedules.solar):
        due = last + schedule.remaining_estimate(last)
    elif isinstance(schedule, schedules.schedule):
        due = last + schedule.run_every
    else:  # a clocked one-off: its own time
        due = getattr(schedule, "clocked_time", last)
    return due.isoformat(timespec="seconds")


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler with three additions:

    - each run is written to the database before its message is sent (the stock scheduler
      writes every few minutes, so a beat killed in between sends the same runs again);
    - each message carries the slot it was due for, so a task can refuse to do one slot's
      work twice (backoffice.locks.scheduled_slot_taken);
    - a heartbeat in Redis on each tick: beat has no liveness signal of its own, and the
      key (epoch seconds) is what `/healthz`, the dashboard and the operations overview
      read as "beat's last tick".
    """

    Entry = CheckedEntry
    _last_heartbeat = 0.0

    def reserve(self, entry):
        new_entry = super().reserve(entry)
        try:
            new_entry.save()
            self._dirty.discard(new_entry.name)
        except (DatabaseError, InterfaceError, ObjectDoesNotExist):
            # Sent anyway (a skipped backup is worse); the write is retried at the next
            # sync, and the slot stamp keeps a repeat send from doing the work twice.
            logger.exception("could not record the run of %s before sending it", entry.name)
        return new_entry

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        # `entry` is the one that fell due (tick has already reserved its successor): its
        # last run gives the slot.
        try:
            stamp = {SLOT_HEADER: scheduled_slot(entry)}
        except Exception:  # an odd schedule must not stop the send: it goes unstamped
            logger.exception("could not work out the slot of %s", entry.name)
            stamp = {}
        if advance:
            entry, advance = self.reserve(entry), False
        entry.options = {**entry.options,
                         "headers": {**entry.options.get("headers", {}), **stamp}}
        try:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        except SchedulingError as exc:  # Celery's wrapper of what the send raised
            if not isinstance(exc.__context__, BROKER_ERRORS):
                raise
            # The rule of backoffice.enqueue: nothing was queued, say so in one line. This
            # run is missed (its time is recorded); the next one is sent when it falls due.
            logger.error("beat could not queue %s (%s): nothing was queued, the broker is "
                         "unreachable (%s); its next run is sent when it falls due",
                         entry.name, entry.task, exc.__context__)
            return None

    def install_default_entries(self, data):
        """Add no schedule of Celery's own: every default is declared in the registry
        (backoffice.schedules). Results are deleted with their task runs by
        operations.tasks.prune_task_history, in batches, so Celery's `celery.backend_cleanup`
        (one unbounded DELETE, by another retention) is not added."""

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        now = time.time()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY_SECONDS:
            try:
                redis_client().set(BEAT_HEARTBEAT_KEY, f"{now:.3f}", ex=3600)
                self._last_heartbeat = now
            except Exception:  # a heartbeat must never stop beat from scheduling
                logger.warning("could not write beat heartbeat", exc_info=True)
        return interval


def beat_last_heartbeat() -> float | None:
    """Epoch seconds of beat's last tick, or None when beat never ticked (or Redis is down)."""
    value = redis_client().get(BEAT_HEARTBEAT_KEY)
    return float(value) if value else None


def beat_status(*, broker_ok: bool) -> dict:
    """Whether beat ticked within BEAT_HEARTBEAT_MAX_AGE, with the age of its last tick."""
    if not broker_ok:
        return {"ok": False, "last_heartbeat": None, "error": "broker unreachable"}
    try:
        last = beat_last_heartbeat()
    except Exception as exc:
        return {"ok": False, "last_heartbeat": None, "error": f"{type(exc).__name__}: {exc}"}
    if last is None:
        return {"ok": False, "last_heartbeat": None, "error": "beat has never ticked"}
    age = max(0.0, time.time() - last)
    status = {"ok": age <= settings.BEAT_HEARTBEAT_MAX_AGE, "last_heartbeat": last,
              "age_seconds": round(age, 1)}
    if not status["ok"]:
        status["error"] = f"last heartbeat {age:.0f}s ago"
    return status
