"""What each installed app contributes to the project, read from its AppConfig.

An app's `AppConfig` (in `<app>/apps.py`) declares, as plain class attributes:

- `schedules`: its default periodic tasks, each {"name", "task", "crontab": {...} or
  "interval": {"every", "period"}, "description"} (created by backoffice.schedules);
- `navigation`: its sidebar groups, each {"title", "order", "items": (...)} with items
  {"title", "icon", "url" (a URL name), "permission" ("app_label.codename" or a callable
  taking the request), "badge" (dotted path of a callable)} (built by backoffice.sidebar);
  a group with the title of one declared earlier adds its items to that group;
- `operator_permissions`: the (app_label pattern, codename pattern) rules the Operators role
  is granted beyond viewing (applied by accounts.roles).

Apps are read through the apps registry, in INSTALLED_APPS order, so this module imports
none of them.
"""

from __future__ import annotations

from django.apps import apps


def contributions(attribute: str) -> list[tuple[str, object]]:
    """(app label, entry) for every entry of `attribute` on the installed apps' configs, in
    INSTALLED_APPS order; an app that declares nothing contributes nothing."""
    return [(config.label, entry) for config in apps.get_app_configs()
            for entry in getattr(config, attribute, ())]
