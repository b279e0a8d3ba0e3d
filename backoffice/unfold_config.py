"""Unfold admin configuration: branding, environment badge, sidebar and dashboard.

The sidebar replaces Unfold's automatic app list, so every admin page must be listed here.
Each item is shown only to users who may view it.
"""

from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


def _can(permission: str):
    def check(request) -> bool:
        return request.user.has_perm(permission)

    return check


def _item(title, icon, url_name, permission=None, badge=None):
    link = reverse_lazy(url_name)
    item = {"title": title, "icon": icon, "link": link, "active": _is_current(link)}
    if badge:
        item.update(badge=badge, badge_variant="danger")
    if permission:
        item["permission"] = permission if callable(permission) else _can(permission)
    return item


def _mail_catcher_reader(request) -> bool:
    """Caught mail (development only) holds working reset links: superusers only."""
    from django.conf import settings

    return bool(settings.MAIL_CATCHER and request.user.is_superuser)


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


def _closest_link(path: str) -> str | None:
    index = str(reverse_lazy("admin:index"))
    if path == index:
        return index
    links = [str(item["link"]) for group in SIDEBAR_NAVIGATION for item in group["items"]]
    matching = [link for link in links if link != index and path.startswith(link)]
    return max(matching, key=len, default=None)


def _can_see_maintenance(request) -> bool:
    from maintenance.actions import can_see_actions

    return can_see_actions(request.user)


SIDEBAR_NAVIGATION = [
    {
        "title": _("Overview"),
        "separator": False,
        "items": [
            _item(_("Dashboard"), "dashboard", "admin:index"),
        ],
    },
    {
        "title": _("People"),
        "separator": True,
        "collapsible": True,
        "items": [
            _item(_("Users"), "person", "admin:accounts_user_changelist", "accounts.view_user"),
            _item(_("Groups"), "group", "admin:auth_group_changelist", "auth.view_group"),
            _item(
                _("API tokens"), "key", "admin:authtoken_tokenproxy_changelist",
                "authtoken.view_tokenproxy",
            ),
        ],
    },
    {
        "title": _("Reports"),
        "separator": True,
        "collapsible": True,
        "items": [
            _item(_("Charts"), "monitoring", "admin:reports_dailyreport_charts",
                  "reports.view_dailyreport"),
            _item(_("Daily reports"), "calendar_today", "admin:reports_dailyreport_changelist",
                  "reports.view_dailyreport"),
            _item(_("Weekly analytics"), "date_range",
                  "admin:reports_weeklyanalytics_changelist", "reports.view_weeklyanalytics"),
            _item(_("API requests"), "api", "admin:reports_apirequest_changelist",
                  "reports.view_apirequest"),
        ],
    },
    {
        "title": _("Operations"),
        "separator": True,
        "collapsible": True,
        "items": [
            _item(_("Operations overview"), "monitor_heart", "admin:operations_overview",
                  "operations.view_taskrun"),
            _item(_("Workers"), "dns", "admin:operations_workers", "operations.view_taskrun"),
            _item(_("Task history"), "history", "admin:operations_taskrun_changelist",
                  "operations.view_taskrun"),
            _item(_("Failed tasks"), "error", "admin:operations_failedtaskrun_changelist",
                  "operations.view_taskrun", badge="operations.dashboard.failed_tasks_badge"),
        ],
    },
    {
        "title": _("Email"),
        "separator": True,
        "collapsible": True,
        "items": [
            _item(_("Notifications"), "campaign", "admin:notifications_notification_changelist",
                  "notifications.view_notification"),
            _item(_("Outgoing email"), "outgoing_mail",
                  "admin:notifications_outgoingemail_changelist",
                  "notifications.view_outgoingemail",
                  badge="notifications.selectors.email_problems_badge"),
            _item(_("Subscriptions"), "toggle_on", "admin:notifications_subscription_changelist",
                  "notifications.view_subscription"),
            _item(_("Suppression list"), "block", "admin:notifications_suppression_changelist",
                  "notifications.view_suppression"),
            _item(_("Caught mail"), "inbox", "admin:devmail_caughtemail_changelist",
                  _mail_catcher_reader),
        ],
    },
    {
        "title": _("API"),
        "separator": True,
        "collapsible": True,
        "items": [
            _item(_("API docs"), "menu_book", "api-docs"),
        ],
    },
    {
        "title": _("Maintenance"),
        "separator": True,
        "collapsible": True,
        "items": [
            _item(_("Maintenance"), "build", "admin:maintenance_actions", _can_see_maintenance),
            _item(_("Backups"), "backup", "admin:maintenance_backup_changelist",
                  "maintenance.view_backup"),
            _item(_("Maintenance runs"), "history", "admin:maintenance_maintenancerun_changelist",
                  "maintenance.view_maintenancerun"),
        ],
    },
    {
        "title": _("Schedules"),
        "separator": True,
        "collapsible": True,
        "items": [
            _item(
                _("Periodic tasks"),
                "schedule",
                "admin:django_celery_beat_periodictask_changelist",
                "django_celery_beat.view_periodictask",
            ),
            _item(
                _("Intervals"),
                "timer",
                "admin:django_celery_beat_intervalschedule_changelist",
                "django_celery_beat.view_intervalschedule",
            ),
            _item(
                _("Crontabs"),
                "event_repeat",
                "admin:django_celery_beat_crontabschedule_changelist",
                "django_celery_beat.view_crontabschedule",
            ),
            _item(
                _("Clocked"),
                "alarm",
                "admin:django_celery_beat_clockedschedule_changelist",
                "django_celery_beat.view_clockedschedule",
            ),
            _item(
                _("Solar"),
                "wb_sunny",
                "admin:django_celery_beat_solarschedule_changelist",
                "django_celery_beat.view_solarschedule",
            ),
        ],
    },
    {
        "title": _("Task results"),
        "separator": True,
        "collapsible": True,
        "items": [
            _item(
                _("Task results"),
                "task_alt",
                "admin:django_celery_results_taskresult_changelist",
                "django_celery_results.view_taskresult",
            ),
            _item(
                _("Group results"),
                "account_tree",
                "admin:django_celery_results_groupresult_changelist",
                "django_celery_results.view_groupresult",
            ),
        ],
    },
]

UNFOLD = {
    "SITE_TITLE": "Backoffice",
    "SITE_HEADER": "Backoffice",
    "SITE_SUBHEADER": _("Background work, in hand"),
    "SITE_URL": "/admin/",
    "SITE_SYMBOL": "hub",
    "SITE_FAVICONS": [
        {
            "rel": "icon",
            "sizes": "32x32",
            "type": "image/svg+xml",
            "href": lambda request: static("backoffice/img/favicon.svg"),
        },
    ],
    "ENVIRONMENT": "backoffice.admin_site.environment_badge",
    "ENVIRONMENT_TITLE_PREFIX": "backoffice.admin_site.environment_title_prefix",
    "DASHBOARD_CALLBACK": "backoffice.dashboard.dashboard_callback",
    "SHOW_VIEW_ON_SITE": False,
    "STYLES": [lambda request: static("backoffice/css/admin.css")],
    "COLORS": {
        "primary": {
            "50": "oklch(97.7% .013 236.62)",
            "100": "oklch(95.1% .026 236.824)",
            "200": "oklch(90.1% .058 230.902)",
            "300": "oklch(82.8% .111 230.318)",
            "400": "oklch(74.6% .16 232.661)",
            "500": "oklch(68.5% .169 237.323)",
            "600": "oklch(58.8% .158 241.966)",
            "700": "oklch(50% .134 242.749)",
            "800": "oklch(44.3% .11 240.79)",
            "900": "oklch(39.1% .09 240.876)",
            "950": "oklch(29.3% .066 243.157)",
        },
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": SIDEBAR_NAVIGATION,
    },
}
