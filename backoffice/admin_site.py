"""The admin site, and the callbacks that Unfold calls for every admin page (environment
badge, title prefix)."""

from functools import wraps

from django.conf import settings
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from unfold.sites import UnfoldAdminSite

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_BADGES = {
    "production": ("Production", "danger"),
    "staging": ("Staging", "warning"),
    "test": ("Test", "info"),
}


def environment_badge(request):
    """Return Unfold's [label, colour] pair for the badge in the header."""
    name = settings.ENVIRONMENT_NAME.lower()
    label, colour = _BADGES.get(name, (name.capitalize() or "Development", "success"))
    return [label, colour]


def environment_title_prefix(request):
    """Prefix browser tab titles outside production so windows are not confused."""
    name = settings.ENVIRONMENT_NAME.lower()
    return None if name == "production" else f"[{name[:3].upper()}]"


# --- The admin site: one rule for every page ------------------------------------------------

def is_read_only(user) -> bool:
    """Staff who hold nothing but view permissions (the Auditors role, or none at all)."""
    if user.is_superuser:
        return False
    return all(perm.partition(".")[2].startswith("view_") for perm in user.get_all_permissions())


def _is_changelist(view) -> bool:
    from django.contrib.admin.options import BaseModelAdmin

    return (getattr(view, "__name__", "") == "changelist_view"
            and isinstance(getattr(view, "__self__", None), BaseModelAdmin))


class BackofficeAdminSite(UnfoldAdminSite):
    """Unfold's site with one rule in front of every admin view, ours and third parties':
    a read-only user (see is_read_only) may look at everything and press nothing - any
    request other than GET/HEAD/OPTIONS is refused with 403, except logging out and
    changing one's own password. A changelist's POST (its actions) is left to Django, which
    runs only the actions whose named permissions the user holds: for a read-only user,
    those that need nothing but "view" (an export). Each page still checks its own
    permission as well."""

    def admin_view(self, view, cacheable=False):
        if view in (self.logout, self.password_change) or _is_changelist(view):
            return super().admin_view(view, cacheable)

        @wraps(view)
        def read_only_guard(request, *args, **kwargs):
            if request.method not in SAFE_METHODS and is_read_only(request.user):
                raise PermissionDenied("a read-only role may not change anything")
            return view(request, *args, **kwargs)

        return super().admin_view(read_only_guard, cacheable)

    def public_context(self, request, **extra) -> dict:
        """The admin's theme for a page people without an admin account open (a link in an
        email): no "Return to site", which would lead them to the admin's login."""
        return {**self.each_context(request), "site_url": None, **extra}


class BackofficeAdminConfig(AdminConfig):
    """django.contrib.admin with BackofficeAdminSite as `admin.site`."""

    default_site = "backoffice.admin_site.BackofficeAdminSite"


def dialog_action_done(request, url: str):
    """How an Unfold dialog action ends: its dialog posts through htmx, which follows an
    HX-Redirect header; a plain POST gets an ordinary redirect."""
    from django.http import HttpResponse, HttpResponseRedirect

    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
