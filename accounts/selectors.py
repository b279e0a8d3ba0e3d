"""Reads about accounts that more than one view needs."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.models import User


def password_reset_user_id(uid: str) -> int | None:
    """The user id a reset link's `uid` encodes, or None when it encodes none."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    return pk if 0 < pk < 2**63 else None


def password_reset_link_is_valid(*, uid: str, token: str) -> bool:
    """Whether the link can still set a password (not used, not expired, not tampered with)."""
    pk = password_reset_user_id(uid)
    user = User.objects.filter(pk=pk, is_active=True).first() if pk else None
    return user is not None and default_token_generator.check_token(user, token)
