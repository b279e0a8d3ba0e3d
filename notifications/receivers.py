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
from notifications.models import TransactionalEmail
from notifications.services import transactional_email_schedule


@receiver(user_registered, dispatch_uid="notifications.welcome")
def queue_welcome_email(sender, user, **kwargs):
    return transactional_email_schedule(kind=TransactionalEmail.Kind.WELCOME, user=user)


@receiver(password_reset_requested, dispatch_uid="notifications.password_reset")
def queue_password_reset_email(sender, user, **kwargs):
    return transactional_email_schedule(kind=TransactionalEmail.Kind.PASSWORD_RESET, user=user)


@receiver(email_change_requested, dispatch_uid="notifications.email_change_requested")
def queue_email_change_emails(sender, user, new_email, **kwargs):
    transactional_email_schedule(kind=TransactionalEmail.Kind.EMAIL_CHANGE_NOTICE, user=user,
                                 context={"other_email": new_email})
    return transactional_email_schedule(kind=TransactionalEmail.Kind.EMAIL_CHANGE_CONFIRM,
                                        user=user, to_email=new_email)


@receiver(email_changed, dispatch_uid="notifications.email_changed")
def queue_email_changed_notice(sender, user, old_email, **kwargs):
    return transactional_email_schedule(kind=TransactionalEmail.Kind.EMAIL_CHANGED, user=user,
                                        to_email=old_email, context={"other_email": user.email})


@receiver(registration_attempted, dispatch_uid="notifications.registration_attempted")
def queue_registration_attempt_notice(sender, user, **kwargs):
    return transactional_email_schedule(kind=TransactionalEmail.Kind.REGISTRATION_ATTEMPT,
                                        user=user)
