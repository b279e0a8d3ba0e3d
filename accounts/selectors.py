"""Reads about accounts that more than one view needs."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts import email_change, identity
from accounts.models import LOOKALIKE_USERNAME, User

DUPLICATE_USERNAME = "A user with that username already exists."
DUPLICATE_EMAIL = "A user with that email address already exists."


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


def identity_conflicts(*, username: str | None, email: str,
                       exclude_pk: int | None = None) -> dict[str, list[str]]:
    """Field -> message for a normalised username or address another user holds already."""
    errors = {}
    others = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    if username is not None:
        if others.filter(username__iexact=username).exists():
            errors["username"] = [DUPLICATE_USERNAME]
        elif others.filter(username_key=identity.username_key(username)).exists():
            errors["username"] = [LOOKALIKE_USERNAME]
    if email and others.filter(email__iexact=email).exists():
        errors["email"] = [DUPLICATE_EMAIL]
    return errors


def email_change_link_is_valid(*, token: str, undo: bool = False) -> bool:
    """Whether a confirm (or undo) link can still change the address it names."""
    read = email_change.undo_token_read if undo else email_change.confirm_token_read
    change = read(token)
    if change is None:
        return False
    expected = change.new_email if undo else change.old_email
    return User.objects.filter(pk=change.user_id, is_active=True,
                               email__iexact=expected).exists()
