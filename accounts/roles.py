"""The two ready-made staff roles, as groups: Operators and Auditors.

`roles_sync` creates the groups and grants the permissions the rules below match. It only
adds (never removes), so it is safe to run again: the data migration runs it once, and a
post_migrate handler runs it after every `migrate`, so the permissions of models added later
reach the roles without another migration.
"""

from __future__ import annotations

import fnmatch

OPERATORS = "Operators"
AUDITORS = "Auditors"

# Apps whose rows are secrets or plumbing: no role sees them automatically.
HIDDEN_APPS = {"authtoken", "sessions", "contenttypes", "admin"}

# (app_label pattern, codename pattern). Operators hold exactly what docs/security.md's roles
# section and permission tables give them: view everything; compose and send notifications;
# resend failed email;
# edit subscriptions and the suppression list; regenerate reports; every Maintenance button
# and every operations-console action; edit schedules - never users or roles, never delete,
# never mail to any address they type in.
ROLE_RULES: dict[str, list[tuple[str, str]]] = {
    AUDITORS: [("*", "view_*")],
    OPERATORS: [
        ("*", "view_*"),
        ("notifications", "add_notification"),
        ("notifications", "change_notification"),
        ("notifications", "send_notification"),
        ("notifications", "resend_outgoingemail"),
        ("notifications", "add_subscription"),
        ("notifications", "change_subscription"),
        ("notifications", "add_suppression"),
        ("notifications", "change_suppression"),
        ("reports", "regenerate_dailyreport"),
        ("maintenance", "run_*"),
        ("maintenance", "send_test_email"),
        ("operations", "can_*_tasks"),
        ("operations", "can_*_queues"),
        ("operations", "can_*_workers"),
        ("django_celery_beat", "add_*"),
        ("django_celery_beat", "change_*"),
    ],
}


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
    for name, rules in ROLE_RULES.items():
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
