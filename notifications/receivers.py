"""Queue the welcome and password-reset emails when accounts says so."""

from django.dispatch import receiver

from accounts.signals import password_reset_requested, user_registered
from notifications.models import TransactionalEmail
from notifications.services import transactional_email_schedule


@receiver(user_registered, dispatch_uid="notifications.welcome")
def queue_welcome_email(sender, user, **kwargs):
    return transactional_email_schedule(kind=TransactionalEmail.Kind.WELCOME, user=user)


@receiver(password_reset_requested, dispatch_uid="notifications.password_reset")
def queue_password_reset_email(sender, user, **kwargs):
    return transactional_email_schedule(kind=TransactionalEmail.Kind.PASSWORD_RESET, user=user)
