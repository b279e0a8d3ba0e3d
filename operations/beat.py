"""Beat's liveness: a scheduler that records a heartbeat in Redis, and the reads of it."""

import logging
import time

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from backoffice.redis_client import redis_client

logger = logging.getLogger(__name__)

BEAT_HEARTBEAT_KEY = "backoffice:beat:heartbeat"
HEARTBEAT_EVERY_SECONDS = 5


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler plus a Redis heartbeat written on each tick.

    Beat has no liveness signal of its own; the heartbeat key (epoch seconds) is what
    `/healthz`, the dashboard and the operations overview read as "beat's last tick".
    """

    _last_heartbeat = 0.0

    def install_default_entries(self, data):
        """Add no schedule of Celery's own: every default is declared in the registry
        (backoffice.schedules). Expired results are deleted by the nightly cleanup, in
        batches, so Celery's `celery.backend_cleanup` (one unbounded DELETE) is not added."""

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
