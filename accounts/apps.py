from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    # What the app contributes (see backoffice.app_contributions): the people pages, its
    # own and those of the auth and token apps it manages. Operators get nothing here
    # beyond viewing: never users or roles.
    navigation = (
        {"title": _("People"), "order": 10, "items": (
            {"title": _("Users"), "icon": "person", "url": "admin:accounts_user_changelist",
             "permission": "accounts.view_user"},
            {"title": _("Groups"), "icon": "group", "url": "admin:auth_group_changelist",
             "permission": "auth.view_group"},
            {"title": _("API tokens"), "icon": "key",
             "url": "admin:authtoken_tokenproxy_changelist",
             "permission": "authtoken.view_tokenproxy"},
        )},
    )

    def ready(self):
        from accounts.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.roles.sync")
