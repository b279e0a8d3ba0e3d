"""Signed links of an email change: confirm (sent to the new address), undo (to the old one).

Stateless: a link names the user, the old and the new address, signed with Django's
TimestampSigner. It expires after its max age and is spent once the user's address no
longer is the one it starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

CONFIRM_SALT = "accounts.email-change.confirm"
UNDO_SALT = "accounts.email-change.undo"


@dataclass(frozen=True)
class EmailChange:
    user_id: int
    old_email: str
    new_email: str


def _make(salt: str, change: EmailChange) -> str:
    return signing.TimestampSigner(salt=salt).sign_object(
        {"u": change.user_id, "old": change.old_email, "new": change.new_email}, compress=True)


def _read(salt: str, token: str, max_age: int) -> EmailChange | None:
    try:
        data = signing.TimestampSigner(salt=salt).unsign_object(token, max_age=max_age)
        change = EmailChange(int(data["u"]), str(data["old"]), str(data["new"]))
    except (signing.BadSignature, TypeError, ValueError, KeyError, UnicodeError):
        return None  # tampered with, expired, or not a token at all
    return change if 0 < change.user_id < 2**63 else None


def confirm_token(change: EmailChange) -> str:
    return _make(CONFIRM_SALT, change)


def confirm_token_read(token: str) -> EmailChange | None:
    """What a confirm token says, or None when it is forged, damaged or expired."""
    return _read(CONFIRM_SALT, token, settings.EMAIL_CHANGE_TIMEOUT)


def undo_token(change: EmailChange) -> str:
    return _make(UNDO_SALT, change)


def undo_token_read(token: str) -> EmailChange | None:
    """What an undo token says, or None when it is forged, damaged or expired."""
    return _read(UNDO_SALT, token, settings.EMAIL_CHANGE_UNDO_TIMEOUT)


def confirm_link(change: EmailChange) -> str:
    return settings.EMAIL_CHANGE_LINK.format(token=confirm_token(change))


def undo_link(change: EmailChange) -> str:
    return settings.EMAIL_CHANGE_UNDO_LINK.format(token=undo_token(change))
