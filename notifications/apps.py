import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

SWEEP_TASK_NAME = "Outgoing email sweep"
SWEEP_TASK = "notifications.tasks.sweep_outgoing_email"


def sweep_when_a_worker_starts(sender=None, **kwargs) -> None:
    """A worker that starts (after a crash, often) queues the outgoing-email sweep at once,
    so email whose lease has ended is not left waiting for beat's next minute."""
    from backoffice.enqueue import QueueUnavailable, enqueue

    try:
        enqueue(SWEEP_TASK)
    except QueueUnavailable as exc:  # beat's next sweep does it
        logger.warning("the start-up sweep was not queued: %s", exc)


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    # What the app contributes (see backoffice.app_contributions).
    schedules = (
        {"name": SWEEP_TASK_NAME, "task": SWEEP_TASK,
         "interval": {"every": 1, "period": "minutes"},
         "description": "Takes back email whose worker died (its lease ended) and queues it "
                        "again, queues email whose task was lost, and finishes notifications "
                        "with nothing left to send."},
    )
    navigation = (
        {"title": _("Email"), "order": 40, "items": (
            {"title": _("Notifications"), "icon": "campaign",
             "url": "admin:notifications_notification_changelist",
             "permission": "notifications.view_notification"},
            {"title": _("Outgoing email"), "icon": "outgoing_mail",
             "url": "admin:notifications_outgoingemail_changelist",
             "permission": "notifications.view_outgoingemail",
             "badge": "notifications.selectors.email_problems_badge"},
            {"title": _("Subscriptions"), "icon": "toggle_on",
             "url": "admin:notifications_subscription_changelist",
             "permission": "notifications.view_subscription"},
            {"title": _("Suppression list"), "icon": "block",
             "url": "admin:notifications_suppression_changelist",
             "permission": "notifications.view_suppression"},
        )},
    )
    operator_permissions = (
        ("notifications", "add_notification"),
        ("notifications", "change_notification"),
        ("notifications", "send_notification"),
        ("notifications", "resend_outgoingemail"),
        ("notifications", "add_subscription"),
        ("notifications", "change_subscription"),
        ("notifications", "add_suppression"),
        ("notifications", "change_suppression"),
    )

    def ready(self):
        from celery.signals import worker_ready

        from notifications import receivers  # noqa: F401 - connects the signal receivers

        worker_ready.connect(sweep_when_a_worker_starts, dispatch_uid="notifications.sweep")
