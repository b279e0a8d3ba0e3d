from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    def ready(self):
        from reports.schedules import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, dispatch_uid="reports.drain_schedule")
