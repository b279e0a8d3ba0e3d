from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BackofficeConfig(AppConfig):
    """Project wiring as an app: the default schedules registry and its commands."""

    name = "backoffice"

    def ready(self):
        from backoffice.schedules import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, dispatch_uid="backoffice.schedules.ensure")
