"""Queue the account emails (welcome, password reset, email change, registration with a
taken address) when accounts says so."""

from django.dispatch import receiver

from accounts.signals import (
    email_change_requested,
    email_changed,
    password_reset_requested,
    registration_attempted,
    user_registered,
)
from notifications.models import OutgoingEmail
from notifications.services import email_schedule


@receiver(user_registered, dispatch_uid="notifications.welcome")
def queue_welcome_email(sender, user, **kwargs):
    return email_schedule(kind=OutgoingEmail.Kind.WELCOME, user=user)


@receiver(password_reset_requested, dispatch_uid="notifications.password_reset")
def queue_password_reset_email(sender, user, **kwargs):
    return email_schedule(kind=OutgoingEmail.Kind.PASSWORD_RESET, user=user)


@receiver(email_change_requested, dispatch_uid="notifications.email_change_requested")
def queue_email_change_emails(sender, user, new_email, **kwargs):
    email_schedule(kind=OutgoingEmail.Kind.EMAIL_CHANGE_NOTICE, user=user,
                   context={"other_email": new_email})
    return email_schedule(kind=OutgoingEmail.Kind.EMAIL_CHANGE_CONFIRM,
                          user=user, to_email=new_email)


@receiver(email_changed, dispatch_uid="notifications.email_changed")
def queue_email_changed_notice(sender, user, old_email, **kwargs):
    return email_schedule(kind=OutgoingEmail.Kind.EMAIL_CHANGED, user=user,
                          to_email=old_email, context={"other_email": user.email})


@receiver(registration_attempted, dispatch_uid="notifications.registration_attempted")
def queue_registration_attempt_notice(sender, user, **kwargs):
    return email_schedule(kind=OutgoingEmail.Kind.REGISTRATION_ATTEMPT, user=user)
