"""Thin Celery tasks for email: parse ids, call a service, return a small dict."""

from celery import shared_task

from notifications import services
from notifications.models import TransactionalEmail

Kind = TransactionalEmail.Kind


def _send(task, kind: str, user_id: int, email_id: int | None) -> dict:
    if email_id is None:  # called directly with only the user, as the seed does
        email_id = services.transactional_email_for_user(kind=kind, user_id=user_id).pk
    result = services.transactional_email_send(email_id=email_id,
                                               worker=task.request.hostname or "")
    if result is None:
        return {"email_id": email_id, "status": "skipped", "reason": "already sent or claimed"}
    if result.retry_in is not None:
        # Bounded by EMAIL_RETRY_MAX_ATTEMPTS in the service, not by Celery's counter.
        raise task.retry(countdown=result.retry_in, max_retries=None,
                         kwargs={"email_id": email_id})
    return result.as_dict()


@shared_task(bind=True, name="notifications.tasks.send_welcome_email", acks_late=True)
def send_welcome_email(self, user_id: int, email_id: int | None = None) -> dict:
    """Send the welcome email (text + HTML) to a newly registered user."""
    return _send(self, Kind.WELCOME, user_id, email_id)


@shared_task(bind=True, name="notifications.tasks.send_password_reset_email", acks_late=True)
def send_password_reset_email(self, user_id: int, email_id: int | None = None) -> dict:
    """Send a password-reset link (made at send time with Django's token generator)."""
    return _send(self, Kind.PASSWORD_RESET, user_id, email_id)


@shared_task(name="notifications.tasks.sweep_pending_emails")
def sweep_pending_emails() -> dict:
    """Enqueue emails recorded while the broker was down, and stuck ones (periodic)."""
    return services.transactional_emails_sweep()
