from django.apps import AppConfig


class OperationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "operations"

    def ready(self):
        # Celery signal handlers: task history (QUEUED → outcome) and the worker registry.
        from operations import recording, registry  # noqa: F401
