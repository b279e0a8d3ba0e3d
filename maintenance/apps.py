from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "maintenance"

    def ready(self):
        from maintenance import checks  # noqa: F401 - registers the configuration check
        from maintenance.selectors import maintenance_run_task_ids
        from operations.kept_runs import kept_task_ids_register

        # A button press reads its outcome from its task's run: pruning keeps those runs.
        kept_task_ids_register(maintenance_run_task_ids)
