from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def mail_catcher_reader(request) -> bool:
    """Caught mail (development only) holds working reset links: superusers only."""
    from django.conf import settings

    return bool(settings.MAIL_CATCHER and request.user.is_superuser)


class DevmailConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "devmail"
    verbose_name = "Caught mail"

    # What the app contributes (see backoffice.app_contributions): a page in the Email group.
    navigation = (
        {"title": _("Email"), "items": (
            {"title": _("Caught mail"), "icon": "inbox",
             "url": "admin:devmail_caughtemail_changelist", "permission": mail_catcher_reader},
        )},
    )
