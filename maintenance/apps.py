from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "maintenance"

    def ready(self):
        from maintenance import checks  # noqa: F401 - registers the configuration check

        # Celery signal handlers: task history (QUEUED → outcome) and the worker registry.
        from maintenance.ops import recording, registry  # noqa: F401
