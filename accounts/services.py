"""Writes about users: registration, tokens, profile, email change, password reset.

Keyword-only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from accounts import email_change, identity
from accounts.login_throttle import LoginThrottled, login_attempt, login_succeeded
from accounts.models import User
from accounts.selectors import (
    DUPLICATE_EMAIL,
    DUPLICATE_USERNAME,
    identity_conflicts,
    password_reset_user_id,
)
from accounts.signals import (
    email_change_requested,
    email_changed,
    password_reset_requested,
    registration_attempted,
    user_registered,
)
from backoffice.enqueue import QueueUnavailable, enqueue

logger = logging.getLogger(__name__)

BAD_RESET_LINK = "This reset link is invalid, expired or already used."
BAD_EMAIL_LINK = "This link is invalid, expired or already used."
STAFF_EMAIL = ("Staff accounts cannot change their email address through the API; "
               "change it in the admin.")
WRONG_PASSWORD = "The current password is wrong."
PASSWORD_NEEDED = "Give your current password to change your email address."


@dataclass
class Registration:
    """What a registration answers; alike whether the address was free or taken."""

    username: str
    email_queued: bool


def _check_unique(*, username: str | None, email: str, exclude_pk: int | None = None) -> None:
    errors = identity_conflicts(username=username, email=email, exclude_pk=exclude_pk)
    if errors:
        raise ValidationError(errors)


def _canonical_email(email: str) -> str:
    try:
        return identity.normalize_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from exc


def user_register(
    *, username: str, email: str, password: str, first_name: str = "", last_name: str = ""
) -> Registration:
    """Create an active user; a welcome email is queued after commit.

    When the address belongs to an account already, nothing is created and its owner is
    emailed instead; the caller cannot tell the two apart (same answer, same work: the
    password is hashed either way). Raises ValidationError (field -> messages) for a taken
    username or a weak password; nothing is written then.
    """
    username = identity.normalize_username(username)
    if len(username) > User._meta.get_field("username").max_length:
        raise ValidationError({"username": ["This username is too long."]})
    errors: dict[str, list[str]] = {}
    try:
        email = _canonical_email(email)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    errors.update(identity_conflicts(username=username, email=""))
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:  # every bad field at once, not only the first
        raise ValidationError(errors)
    user.set_password(password)
    owner = User.objects.filter(email__iexact=email).first()
    try:
        with transaction.atomic():
            if owner is None:
                user.save()
                responses = user_registered.send(sender=User, user=user)
            else:
                responses = _registration_attempt_tell(owner)
    except IntegrityError as exc:  # a concurrent registration won the race
        _check_unique(username=username, email="")
        owner = User.objects.filter(email__iexact=email).first()
        if owner is None:
            raise ValidationError({"username": [DUPLICATE_USERNAME]}) from exc
        with transaction.atomic():
            responses = _registration_attempt_tell(owner)
    queued = any(getattr(response, "queued", False) for _, response in responses)
    return Registration(username=username, email_queued=queued)


def _registration_attempt_tell(owner: User) -> list:
    if not owner.is_active:
        return []
    return registration_attempted.send(sender=User, user=owner)


def token_login(*, request, username: str, password: str) -> Token | None:
    """The user's API token (created on first login), or None for bad credentials."""
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        return None
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_logout(*, user: User) -> None:
    Token.objects.filter(user=user).delete()


def user_profile_update(*, user: User, data: dict) -> User:
    """Change the names (first_name, last_name); the address changes by email_change_*."""
    fields = [name for name in ("first_name", "last_name") if name in data]
    for name in fields:
        setattr(user, name, data[name])
    if fields:
        user.save(update_fields=fields)
    return user


def email_change_request(*, user: User, email: str, current_password: str,
                         client: str | None) -> str | None:
    """Ask to change the user's address: nothing changes until the emailed link is opened.

    Returns the new address, or None when it is the current one. Needs the current password
    (checked under the login throttle, so a stolen API token cannot guess it); staff change
    their address in the admin only. The link goes to the new address, a notice to the old.
    """
    new = _canonical_email(email)
    if new.lower() == (user.email or "").lower():
        return None
    if user.is_staff or user.is_superuser:
        raise PermissionDenied(STAFF_EMAIL)
    if not current_password:
        raise ValidationError({"current_password": [PASSWORD_NEEDED]})
    verdict = login_attempt(client=client, username=user.get_username())
    if not verdict.allowed:
        raise LoginThrottled(verdict)
    if not user.check_password(current_password):
        raise ValidationError({"current_password": [WRONG_PASSWORD]})
    login_succeeded(client=client, username=user.get_username())
    _check_unique(username=None, email=new, exclude_pk=user.pk)
    with transaction.atomic():
        email_change_requested.send(sender=User, user=user, new_email=new)
    return new


def _email_set(*, change, expected: str, to: str) -> User:
    """Lock the user and set `to` when their address is still `expected` (else the link is
    spent) and `to` is free."""
    user = User.objects.select_for_update().filter(pk=change.user_id, is_active=True).first()
    if user is None or (user.email or "").lower() != expected.lower():
        raise ValidationError({"token": [BAD_EMAIL_LINK]})
    _check_unique(username=None, email=to, exclude_pk=user.pk)
    user.email = to
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError as exc:
        raise ValidationError({"email": [DUPLICATE_EMAIL]}) from exc
    return user


def email_change_confirm(*, token: str, keep_token: str | None = None) -> User:
    """Set the new address a confirm link names; the old address is told, with an undo link.

    Every API token of the user is revoked except `keep_token` (the key the confirming
    request itself authenticated with, if it is the user's).
    """
    change = email_change.confirm_token_read(token)
    if change is None:
        raise ValidationError({"token": [BAD_EMAIL_LINK]})
    with transaction.atomic():
        user = _email_set(change=change, expected=change.old_email, to=change.new_email)
        if user.is_staff or user.is_superuser:
            raise PermissionDenied(STAFF_EMAIL)
        Token.objects.filter(user=user).exclude(key=keep_token or "").delete()
        email_changed.send(sender=User, user=user, old_email=change.old_email)
    return user


def email_change_undo(*, token: str) -> User:
    """Put back the address an undo link names, revoke every API token and send a reset link.

    Whoever changed the address may know the password, so the owner is asked to reset it.
    """
    change = email_change.undo_token_read(token)
    if change is None:
        raise ValidationError({"token": [BAD_EMAIL_LINK]})
    with transaction.atomic():
        user = _email_set(change=change, expected=change.new_email, to=change.old_email)
        Token.objects.filter(user=user).delete()
        if user.has_usable_password():
            password_reset_requested.send(sender=User, user=user)
    return user


def password_reset_request(*, email: str) -> None:
    """Hand the address to a background lookup after commit, whether or not it is known.

    The request does the same work for every address, so neither its answer nor its time
    tells a caller which addresses have accounts.
    """
    transaction.on_commit(lambda: _password_reset_enqueue(email=email))


def _password_reset_enqueue(*, email: str) -> None:
    # By name: the tasks module imports this one, so this one does not import it.
    try:
        enqueue("accounts.tasks.password_reset_lookup", args=[email])
    except QueueUnavailable as exc:
        # The queue is down: look up here, so the reset email is recorded and the
        # email sweep sends it when the queue is back.
        logger.warning("could not enqueue the password-reset lookup; doing it inline: %s", exc)
        password_reset_send(email=email)


def password_reset_send(*, email: str) -> int:
    """Queue a reset email to every active account with this address; return how many."""
    try:
        email = identity.normalize_email(email)
    except ValidationError:
        return 0  # no account can have an address in that form
    users = User.objects.filter(email__iexact=email, is_active=True)
    queued = 0
    for user in users:
        if not user.has_usable_password():
            continue
        with transaction.atomic():
            password_reset_requested.send(sender=User, user=user)
        queued += 1
    return queued


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password when `token` is valid for the user `uid` names; it is then spent.

    The user row is locked while checking, so one token cannot be used twice at once.
    All API tokens of the user are revoked.
    """
    pk = password_reset_user_id(uid)
    if pk is None:
        raise ValidationError({"token": [BAD_RESET_LINK]})
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=pk, is_active=True).first()
        if user is None or not default_token_generator.check_token(user, token):
            raise ValidationError({"token": [BAD_RESET_LINK]})
        try:
            validate_password(new_password, user=user)
        except ValidationError as exc:
            raise ValidationError({"new_password": exc.messages}) from exc
        user.set_password(new_password)
        user.save(update_fields=["password"])
        Token.objects.filter(user=user).delete()
    return user
