from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "operations"

    # What the app contributes (see backoffice.app_contributions).
    schedules = (
        {"name": "Prune task history", "task": "operations.tasks.prune_task_history",
         "crontab": {"minute": "30", "hour": "3"},
         "description": "Deletes finished task runs older than OPS_TASK_HISTORY_DAYS with "
                        "their task results, and old per-minute task counters."},
    )
    navigation = (
        {"title": _("Operations"), "order": 30, "items": (
            {"title": _("Operations overview"), "icon": "monitor_heart",
             "url": "admin:operations_overview", "permission": "operations.view_taskrun"},
            {"title": _("Workers"), "icon": "dns", "url": "admin:operations_workers",
             "permission": "operations.view_taskrun"},
            {"title": _("Task history"), "icon": "history",
             "url": "admin:operations_taskrun_changelist",
             "permission": "operations.view_taskrun"},
            {"title": _("Failed tasks"), "icon": "error",
             "url": "admin:operations_failedtaskrun_changelist",
             "permission": "operations.view_taskrun",
             "badge": "operations.dashboard.failed_tasks_badge"},
        )},
    )
    operator_permissions = (
        ("operations", "can_*_tasks"),
        ("operations", "can_*_queues"),
        ("operations", "can_*_workers"),
    )

    def ready(self):
        # Celery signal handlers: task history (QUEUED → outcome) and the worker registry.
        from operations import recording, registry  # noqa: F401
