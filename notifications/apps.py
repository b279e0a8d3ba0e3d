from django.apps import AppConfig
from django.db.models.signals import post_migrate


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self):
        from notifications import receivers  # noqa: F401 - connects the signal receivers
        from notifications.schedules import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, dispatch_uid="notifications.sweep_schedule")
