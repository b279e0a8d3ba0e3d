"""Thin Celery tasks of the accounts app."""

from celery import shared_task

from accounts import services


@shared_task(name="accounts.tasks.password_reset_lookup", acks_late=True)
def password_reset_lookup(email: str) -> dict:
    """Find the accounts behind a reset request and queue their emails."""
    if not isinstance(email, str) or len(email) > 254:
        return {"queued": 0}
    return {"queued": services.password_reset_send(email=email)}
