"""Unfold admin configuration: branding, environment badge, sidebar and dashboard.

The sidebar is built from what each app declares in its AppConfig (backoffice.sidebar).
"""

from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

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
        "navigation": "backoffice.sidebar.sidebar_navigation",
    },
}
