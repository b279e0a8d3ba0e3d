"""Transient SMTP failures are retried with backoff; permanent ones fail at once; bounded."""

import pytest
from django.conf import settings

from notifications.tests.helpers import final, user_with_welcome_email

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def outcomes(email):
    return [(entry["outcome"], entry["code"]) for entry in email.attempt_log]


def test_transient_4xx_is_retried_until_sent(celery_worker, smtp):
    smtp.fail_rule = lambda rcpt, attempt: "451 4.3.0 try again later" if attempt <= 2 else None

    email = final(user_with_welcome_email("grace", "grace@example.com"))

    assert email.status == "sent" and email.attempts == 3
    assert outcomes(email) == [("transient", 451), ("transient", 451), ("sent", None)]
    assert len(smtp.wait_for(1)) == 1


def test_permanent_5xx_fails_at_once_with_the_code(celery_worker, smtp):
    smtp.fail_rule = lambda rcpt, attempt: "550 5.1.1 no such mailbox"

    email = final(user_with_welcome_email("nobody", "nobody@example.com"))

    assert email.status == "failed" and email.attempts == 1
    assert email.last_smtp_code == 550 and "no such mailbox" in email.last_error
    assert outcomes(email) == [("permanent", 550)]
    assert smtp.attempts["nobody@example.com"] == 1


def test_retries_are_bounded(celery_worker, smtp):
    smtp.fail_rule = lambda rcpt, attempt: "421 4.7.0 busy"

    email = final(user_with_welcome_email("busy", "busy@example.com"))

    bound = settings.EMAIL_RETRY_MAX_ATTEMPTS
    assert email.status == "failed" and email.attempts == bound
    assert outcomes(email) == [("transient", 421)] * bound
    assert smtp.attempts["busy@example.com"] == bound


def test_the_bound_is_the_setting_not_celerys_default_retry_limit(only_our_workers, smtp):
    """Celery's default allows 3 retries (4 runs); the setting asks for 6 attempts."""
    from operations.models import TaskRun
    from tests.processes import CeleryWorker

    smtp.fail_rule = lambda rcpt, attempt: "421 4.7.0 busy"
    worker = CeleryWorker(queues=("email",), extra_env={
        **smtp.env(), "EMAIL_RETRY_MAX_ATTEMPTS": "6"}).start()
    try:
        email = final(user_with_welcome_email("patient", "patient@example.com"), timeout=60)
    finally:
        worker.stop()

    assert email.status == "failed" and email.attempts == 6
    assert smtp.attempts["patient@example.com"] == 6
    runs = TaskRun.objects.filter(name="notifications.tasks.send_email", args=f"[{email.pk}]")
    # Six runs; the last fails with the reply, so it shows among the failed tasks.
    [failure] = runs.filter(state="FAILURE")
    assert "EmailNotSent" in failure.traceback and "421 4.7.0 busy" in failure.traceback
    assert "MaxRetriesExceeded" not in "".join(runs.values_list("traceback", flat=True))


@pytest.mark.django_db
def test_a_hung_smtp_server_is_a_transient_failure_not_a_stuck_email(only_our_workers):
    """A server that accepts the connection and never answers: the attempt times out
    (EMAIL_TIMEOUT), the email waits to retry with the reason, nothing is left held."""
    import socket

    from django.test import override_settings

    from notifications.sending import send_batch

    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never greets
    port = listener.getsockname()[1]
    email = user_with_welcome_email("hung", "hung@example.com")
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                               EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_URL="",
                               EMAIL_TIMEOUT=1):
            result = send_batch(ids=[email.pk])
    finally:
        listener.close()

    email.refresh_from_db()
    assert result.retrying == 1 and email.status == "pending" and email.attempts == 1
    assert email.next_attempt_at and email.lease_until is None and email.claim == ""
    assert outcomes(email) == [("transient", None)]
    assert "timed out" in email.last_error.lower()
