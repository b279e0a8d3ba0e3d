from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def can_see_maintenance_page(request) -> bool:
    """The Maintenance page's sidebar item: for staff holding any of its buttons."""
    from maintenance.actions import can_see_actions

    return can_see_actions(request.user)


class MaintenanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "maintenance"

    # What the app contributes (see backoffice.app_contributions).
    schedules = (
        {"name": "Database backup", "task": "maintenance.tasks.backup_database",
         "crontab": {"minute": "0", "hour": "2"},
         "description": "Writes a verified, gzipped backup to BACKUP_DIR."},
        {"name": "Cleanup old logs", "task": "maintenance.tasks.cleanup_old_logs",
         "crontab": {"minute": "0", "hour": "3"},
         "description": "Deletes old API log rows, finished emails, expired sessions, old "
                        "maintenance runs and old backups."},
    )
    navigation = (
        {"title": _("Maintenance"), "order": 60, "items": (
            {"title": _("Maintenance"), "icon": "build", "url": "admin:maintenance_actions",
             "permission": can_see_maintenance_page},
            {"title": _("Backups"), "icon": "backup", "url": "admin:maintenance_backup_changelist",
             "permission": "maintenance.view_backup"},
            {"title": _("Maintenance runs"), "icon": "history",
             "url": "admin:maintenance_maintenancerun_changelist",
             "permission": "maintenance.view_maintenancerun"},
        )},
    )
    operator_permissions = (
        ("maintenance", "run_*"),
        ("maintenance", "send_test_email"),
    )

    def ready(self):
        from maintenance import checks  # noqa: F401 - registers the configuration check
