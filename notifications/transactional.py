"""The messages of the transactional lane: account emails from their templates
(`templates/notifications/email/`), notices to staff and test copies of a notification."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.email_change import EmailChange, confirm_link, confirm_token, undo_link
from notifications.compose import BulkMessage, CannotCompose, Recipient
from notifications.models import Notification, OutgoingEmail

Kind = OutgoingEmail.Kind
SUBJECTS = {
    Kind.WELCOME: "Welcome to {site}, {name}!",
    Kind.PASSWORD_RESET: "Reset your {site} password",
    Kind.EMAIL_CHANGE_CONFIRM: "Confirm your new {site} email address",
    Kind.EMAIL_CHANGE_NOTICE: "A change of your {site} email address was requested",
    Kind.EMAIL_CHANGED: "Your {site} email address was changed",
    Kind.REGISTRATION_ATTEMPT: "Someone tried to register at {site} with your address",
}
EMAIL_CHANGE_KINDS = {Kind.EMAIL_CHANGE_CONFIRM, Kind.EMAIL_CHANGE_NOTICE, Kind.EMAIL_CHANGED}


def single_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    """The message of a transactional row (account email, staff notice, test copy)."""
    if email.kind == Kind.ADMIN_NOTICE:
        return _message(email, email.context.get("subject", ""), email.context.get("body", ""),
                        email.context.get("html", ""))
    if email.kind == Kind.TEST_COPY:
        notification = Notification.objects.filter(
            pk=email.context.get("notification_id")).first()
        if notification is None:
            raise CannotCompose("the notification was deleted")
        user = email.user
        recipient = Recipient(email=email.to_email, first_name=getattr(user, "first_name", ""),
                              last_name=getattr(user, "last_name", ""),
                              username=user.get_username() if user else "")
        message = BulkMessage(notification).outgoing(recipient, email.user_id, raw=False).message
        message.subject = f"[TEST] {message.subject}"
        return message
    user = email.user
    if user is None or not user.is_active:
        raise CannotCompose("the user no longer exists or is inactive")
    name = user.first_name or user.get_username()
    context = {"user": user, "name": name, "site_name": settings.SITE_NAME,
               "to_email": email.to_email}
    if email.kind == Kind.PASSWORD_RESET:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        context.update(uid=uid, token=token,
                       reset_link=settings.PASSWORD_RESET_LINK.format(uid=uid, token=token),
                       valid_hours=max(1, settings.PASSWORD_RESET_TIMEOUT // 3600))
    elif email.kind in EMAIL_CHANGE_KINDS:
        context.update(_email_change_context(email))
    template = f"notifications/email/{email.kind}"
    return _message(email, SUBJECTS[email.kind].format(site=settings.SITE_NAME, name=name),
                    render_to_string(f"{template}.txt", context),
                    render_to_string(f"{template}.html", context))


def _message(email: OutgoingEmail, subject: str, text: str, html: str):
    subject = " ".join(subject.split())[:200]  # no header injection through a user's name
    message = EmailMultiAlternatives(subject=subject, body=text,
                                     from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[email.to_email])
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _email_change_context(email: OutgoingEmail) -> dict:
    # Links are signed at send time, as reset links are, so no live token sits in a row.
    user, other = email.user, email.context.get("other_email", "")
    if email.kind == Kind.EMAIL_CHANGE_CONFIRM:  # to the new address; the user has the old
        change = EmailChange(user.pk, user.email, email.to_email)
        return {"old_email": user.email, "new_email": email.to_email,
                "token": confirm_token(change), "link": confirm_link(change),
                "valid_hours": max(1, settings.EMAIL_CHANGE_TIMEOUT // 3600)}
    if email.kind == Kind.EMAIL_CHANGE_NOTICE:  # to the old address
        return {"old_email": email.to_email, "new_email": other}
    change = EmailChange(user.pk, email.to_email, other)  # changed: to the old address
    return {"old_email": email.to_email, "new_email": other, "link": undo_link(change),
            "valid_days": max(1, settings.EMAIL_CHANGE_UNDO_TIMEOUT // 86400)}



# --- Notices to staff ---------------------------------------------------------------------

MAX_PREVIOUS_CHARS = 20_000


def admin_recipients() -> list[str]:
    """The addresses of every active staff member and superuser, once each."""
    users = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True),
                                            is_active=True).exclude(email="")
    return sorted({address.lower() for address in users.values_list("email", flat=True)})


def previous_text(previous) -> str:
    """The previous step's result of a chain or chord, for the body of a notice."""
    if previous is None:
        return ""
    try:
        text = json.dumps(previous, indent=2, default=str)  # the task's own order
    except (TypeError, ValueError):
        text = repr(previous)
    return "\n\nResult of the previous step:\n" + text[:MAX_PREVIOUS_CHARS]
