"""Thin Celery tasks of the accounts app."""

from celery import shared_task

from accounts import services
from backoffice.task_arguments import StrictCharField, TaskArguments


class LookupArguments(TaskArguments):
    email = StrictCharField(max_length=254, allow_blank=True)


@shared_task(name="accounts.tasks.password_reset_lookup", queue="email", acks_late=True,
             arguments=LookupArguments)
def password_reset_lookup(email: str) -> dict:
    """Find the accounts behind a reset request and queue their emails."""
    return {"queued": services.password_reset_send(email=email)}
