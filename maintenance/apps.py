from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "maintenance"

    def ready(self):
        # Celery signal handlers: task history (QUEUED → outcome) and the worker registry.
        from maintenance.ops import recording, registry  # noqa: F401
