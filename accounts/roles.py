"""The two ready-made staff roles, as groups: Operators and Auditors.

`roles_sync` creates the groups and grants the permissions the rules below match (Operators'
rules beyond viewing come from the apps' AppConfigs). It only adds (never removes), so it is
safe to run again: the data migration runs it once, and a post_migrate handler runs it after
every `migrate`, so the permissions of models added later reach the roles without another
migration.
"""

from __future__ import annotations

import fnmatch

from backoffice.app_contributions import contributions

OPERATORS = "Operators"
AUDITORS = "Auditors"

# Apps whose rows are secrets or plumbing: no role sees them automatically.
HIDDEN_APPS = {"authtoken", "sessions", "contenttypes", "admin"}

# Both roles view everything (but HIDDEN_APPS). Operators also hold what each app grants
# them in its AppConfig's `operator_permissions` (see backoffice.app_contributions): what
# docs/security.md's roles section and permission tables give them - never users or roles,
# never delete, never mail to any address they type in.
VIEW_EVERYTHING = ("*", "view_*")


def role_rules() -> dict[str, list[tuple[str, str]]]:
    """Each role's (app_label pattern, codename pattern) rules."""
    granted = [rule for _label, rule in contributions("operator_permissions")]
    return {AUDITORS: [VIEW_EVERYTHING], OPERATORS: [VIEW_EVERYTHING, *granted]}


def _matches(rules, app_label: str, codename: str) -> bool:
    if app_label in HIDDEN_APPS:
        return False
    return any(fnmatch.fnmatchcase(app_label, app) and fnmatch.fnmatchcase(codename, code)
               for app, code in rules)


def roles_sync(*, apps=None) -> dict[str, int]:
    """Create both groups if missing and add every matching permission. Returns counts added.

    `apps` is the migration state's registry inside a migration, else the live one.
    """
    if apps is None:
        from django.apps import apps as live_apps

        apps = live_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = list(
        permission_model.objects.select_related("content_type").only(
            "id", "codename", "content_type__app_label"
        )
    )
    added = {}
    for name, rules in role_rules().items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = {p.id for p in permissions
                  if _matches(rules, p.content_type.app_label, p.codename)}
        have = set(group.permissions.values_list("id", flat=True))
        group.permissions.add(*(wanted - have))
        added[name] = len(wanted - have)
    return added


def sync_roles_after_migrate(sender, app_config=None, using="default", apps=None, **kwargs):
    """post_migrate handler: runs once per `migrate`, after the last app's permissions exist."""
    from django.apps import apps as live_apps

    if sender is not list(live_apps.get_app_configs())[-1]:
        return
    roles_sync()
