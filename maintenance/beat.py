"""Beat scheduler that records a heartbeat, so health checks can tell beat is alive."""

import logging
import time

from django_celery_beat.schedulers import DatabaseScheduler

from maintenance.broker import BEAT_HEARTBEAT_KEY, redis_client

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_SECONDS = 5


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler plus a Redis heartbeat written on each tick.

    Beat has no liveness signal of its own; the heartbeat key (epoch seconds) is what
    `/healthz` and the dashboard read as "beat's last tick".
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
