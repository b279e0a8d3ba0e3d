import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


def sweep_when_a_worker_starts(sender=None, **kwargs) -> None:
    """A worker that starts (after a crash, often) queues the outgoing-email sweep at once,
    so email whose lease has ended is not left waiting for beat's next minute."""
    from backoffice.enqueue import QueueUnavailable, enqueue

    try:
        enqueue("notifications.tasks.sweep_outgoing_email")
    except QueueUnavailable as exc:  # beat's next sweep does it
        logger.warning("the start-up sweep was not queued: %s", exc)


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self):
        from celery.signals import worker_ready

        from notifications import receivers  # noqa: F401 - connects the signal receivers

        worker_ready.connect(sweep_when_a_worker_starts, dispatch_uid="notifications.sweep")
