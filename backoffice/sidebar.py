"""The admin's sidebar, built from the pages each app declares in its AppConfig.

Unfold calls `sidebar_navigation(request)` (UNFOLD["SIDEBAR"]["navigation"]) for every page.
It replaces Unfold's automatic app list, so every admin page is declared by some app; each
item is shown only to users who may view it.
"""

from __future__ import annotations

from functools import cache

from django.urls import reverse_lazy

from backoffice.app_contributions import contributions

GROUP_DEFAULTS = {"separator": True, "collapsible": True}
LAST = 1_000  # the place of a group that declares no order


def _can(permission: str):
    def check(request) -> bool:
        return request.user.has_perm(permission)

    return check


def _item(declared: dict) -> dict:
    link = reverse_lazy(declared["url"])
    item = {"title": declared["title"], "icon": declared["icon"], "link": link,
            "active": _is_current(link)}
    if declared.get("badge"):
        item.update(badge=declared["badge"], badge_variant="danger")
    permission = declared.get("permission")
    if permission:
        item["permission"] = permission if callable(permission) else _can(permission)
    return item


@cache  # the apps' declarations are fixed once they are loaded; every page reads this
def navigation_groups() -> list[dict]:
    """The sidebar's groups in their declared order (then INSTALLED_APPS order), each with
    the items of every app that declares a group of that title, in INSTALLED_APPS order."""
    groups: dict[str, dict] = {}
    for _label, declared in contributions("navigation"):
        group = groups.setdefault(str(declared["title"]), {
            **GROUP_DEFAULTS, "order": LAST, "items": [],
            **{key: value for key, value in declared.items() if key != "items"}})
        group["items"].extend(_item(item) for item in declared["items"])
    ordered = sorted(groups.values(), key=lambda group: group["order"])
    return [{key: value for key, value in group.items() if key != "order"}
            for group in ordered]


def sidebar_navigation(request=None) -> list[dict]:
    """UNFOLD["SIDEBAR"]["navigation"]: what the sidebar lists (Unfold checks each item's
    permission for the request)."""
    return navigation_groups()


def _is_current(link):
    """Active when `link` is the sidebar link that matches the page most closely.

    Unfold marks every link whose path the page's path contains, so a page under another
    item's path (the charts under the daily reports, the overview under the task history)
    would light up both.
    """
    def check(request) -> bool:
        if not hasattr(request, "sidebar_closest_link"):  # once per page, not once per item
            request.sidebar_closest_link = _closest_link(request.path)
        return request.sidebar_closest_link == str(link)

    return check


@cache
def _sidebar_links() -> tuple[str, ...]:
    """Every sidebar link as a path, resolved once (a sidebar is drawn on every page)."""
    return tuple(str(item["link"]) for group in navigation_groups() for item in group["items"])


def _closest_link(path: str) -> str | None:
    index = str(reverse_lazy("admin:index"))
    if path == index:
        return index
    matching = [link for link in _sidebar_links() if link != index and path.startswith(link)]
    return max(matching, key=len, default=None)
