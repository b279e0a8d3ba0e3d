from django.apps import AppConfig


class DevmailConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "devmail"
    verbose_name = "Caught mail"
