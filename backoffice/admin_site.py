"""Callbacks that Unfold calls for every admin page (environment badge, title prefix)."""

from django.conf import settings

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
