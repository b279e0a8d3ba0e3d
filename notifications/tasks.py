"""Thin Celery tasks for email: parse ids, call a service, return a small dict."""

from celery import chord, shared_task

from backoffice.housekeeping import HOUSEKEEPING
from backoffice.task_arguments import NoArguments, StrictIntegerField, TaskArguments
from notifications import admin_mail, bulk, lifecycle, services
from notifications.models import Notification, TransactionalEmail

Kind = TransactionalEmail.Kind


class Sweep(NoArguments):
    operable = True


class NotificationArguments(TaskArguments):
    """A scheduled send (the Schedule button makes one) names only its notification."""

    operable = True
    permission = "notifications.send_notification"
    notification_id = StrictIntegerField(min_value=1)


def _send(task, kind: str, user_id: int, email_id: int | None) -> dict:
    if email_id is None:  # called with only the user (a shell, another task): record it now
        email_id = services.transactional_email_for_user(kind=kind, user_id=user_id).pk
    result = services.transactional_email_send(email_id=email_id,
                                               worker=task.request.hostname or "")
    if result is None:
        return {"email_id": email_id, "status": "skipped", "reason": "already sent or claimed"}
    if result.retry_in is not None:
        # Bounded by EMAIL_RETRY_MAX_ATTEMPTS in the service, not by Celery's counter (the
        # task has max_retries=None: retry()'s own max_retries=None means "the default, 3").
        raise task.retry(countdown=result.retry_in, kwargs={"email_id": email_id})
    return result.as_dict()


@shared_task(bind=True, name="notifications.tasks.send_welcome_email", acks_late=True,
             max_retries=None)
def send_welcome_email(self, user_id: int, email_id: int | None = None) -> dict:
    """Send the welcome email (text + HTML) to a newly registered user."""
    return _send(self, Kind.WELCOME, user_id, email_id)


@shared_task(bind=True, name="notifications.tasks.send_password_reset_email", acks_late=True,
             max_retries=None)
def send_password_reset_email(self, user_id: int, email_id: int | None = None) -> dict:
    """Send a password-reset link (made at send time with Django's token generator)."""
    return _send(self, Kind.PASSWORD_RESET, user_id, email_id)


@shared_task(bind=True, name="notifications.tasks.send_account_email", acks_late=True,
             max_retries=None)
def send_account_email(self, user_id: int, email_id: int) -> dict:
    """Send a recorded account email (email change, registration with a taken address)."""
    return _send(self, "", user_id, email_id)


@shared_task(name="notifications.tasks.sweep_pending_emails", arguments=Sweep, **HOUSEKEEPING)
def sweep_pending_emails() -> dict:
    """Enqueue emails recorded while the broker was down, and stuck ones (periodic)."""
    return services.transactional_emails_sweep()


# --- Bulk notifications -------------------------------------------------------------------


@shared_task(bind=True, name="notifications.tasks.send_bulk_notifications", acks_late=True,
             arguments=NotificationArguments)
def send_bulk_notifications(self, notification_id: int, send_id: str | None = None):
    """Send a notification to its audience: deliveries, then a chord of small batches.

    Called with only the id (beat, a shell, the API) it starts the send itself; called with
    the `send_id` of a start that already happened (the admin's button) it issues that send.
    Either way a second call does nothing. The task replaces itself with the chord, so its
    result is the final summary `{"sent_count", "failed_count", "failed_emails", ...}`.
    """
    return _dispatch(self, notification_id, send_id, start=lifecycle.notification_start)


def _not_sent(notification_id: int, reason: str) -> dict:
    return {"notification_id": notification_id, "status": "not sendable", "reason": reason,
            "sent_count": 0, "failed_count": 0, "failed_emails": []}


def _dispatch(task, notification_id: int, send_id: str | None, *, start):
    """Issue send `send_id`; without one, take the notification for a send with `start`
    first (once: a second caller gets the reason it was refused)."""
    if send_id is None:
        try:
            send_id = start(notification_id=notification_id)
        except lifecycle.NotificationStateError as exc:
            return _not_sent(notification_id, str(exc))
    batches = lifecycle.notification_dispatch(notification_id=notification_id, send_id=send_id)
    if batches is None:
        return _not_sent(notification_id, lifecycle.state_problem(
            Notification.objects.filter(pk=notification_id).first()))
    if not batches:
        return finalize_notification([], notification_id)
    raise task.replace(_chord(notification_id, batches))


def _chord(notification_id: int, batches: list[list[int]]):
    header = [send_notification_batch.s(notification_id, ids) for ids in batches]
    return chord(header, finalize_notification.s(notification_id))


def _issue(notification_id: int, batches: list[list[int]]) -> None:
    if batches:
        _chord(notification_id, batches).apply_async()
    else:
        finalize_notification.delay([], notification_id)


@shared_task(bind=True, name="notifications.tasks.send_notification_batch", acks_late=True,
             max_retries=None)
def send_notification_batch(self, notification_id: int, delivery_ids: list[int]) -> dict:
    """Send one batch (NOTIFICATION_BATCH_SIZE recipients) over one SMTP connection;
    retry transient failures."""
    result = bulk.batch_send(notification_id=notification_id, delivery_ids=delivery_ids,
                             worker=self.request.hostname or "")
    if result.retry_in is not None and not result.cancelled:
        # Bounded by EMAIL_RETRY_MAX_ATTEMPTS per recipient, not by Celery's counter.
        raise self.retry(countdown=result.retry_in)
    return result.as_dict()


@shared_task(name="notifications.tasks.finalize_notification")
def finalize_notification(batch_results, notification_id: int) -> dict:
    """Chord callback: final status from the rows, then tell the admins (once)."""
    summary = bulk.notification_finalise(notification_id=notification_id)
    if summary["finished_now"]:
        send_notification_finished_email.delay(notification_id)
    return summary


@shared_task(name="notifications.tasks.send_notification_finished_email")
def send_notification_finished_email(notification_id: int) -> dict:
    """Tell the admins, in words, how a bulk send ended."""
    return admin_mail.notification_finished_notify(notification_id=notification_id)


@shared_task(bind=True, name="notifications.tasks.retry_failed_deliveries", acks_late=True)
def retry_failed_deliveries(self, notification_id: int, send_id: str | None = None):
    """Re-send only the failed rows of a notification (the admin's Retry failed)."""
    return _dispatch(self, notification_id, send_id, start=lifecycle.notification_retry_failed)


@shared_task(name="notifications.tasks.resume_notification", acks_late=True)
def resume_notification(notification_id: int) -> dict:
    """Issue the batches of a notification taken for resuming (the admin's Resume)."""
    batches = lifecycle.notification_resume_batches(notification_id=notification_id)
    _issue(notification_id, batches)
    return {"notification_id": notification_id, "batches": len(batches)}


@shared_task(name="notifications.tasks.resume_stalled_notifications", arguments=Sweep,
             **HOUSEKEEPING)
def resume_stalled_notifications() -> dict:
    """Re-issue the batches of sending notifications whose batches vanished (periodic)."""
    resumed = lifecycle.notifications_resume_stalled()
    for notification_id in resumed:
        _issue(notification_id, lifecycle.notification_resume_batches(
            notification_id=notification_id))
    return {"resumed": resumed, "cancelled_skipped": lifecycle.cancelled_leftovers_skip()}


@shared_task(name="notifications.tasks.send_test_notification")
def send_test_notification(notification_id: int, user_id: int) -> dict:
    """Send one copy of a notification to a staff user's own address, marked as a test."""
    return admin_mail.notification_test_send(notification_id=notification_id, user_id=user_id)


@shared_task(name="notifications.tasks.send_admin_notification")
def send_admin_notification(*args, **kwargs) -> dict:
    """Email every active staff member and superuser.

    Works alone — `send_admin_notification.delay("Subject", "Message")` — and as a callback
    in a chain or chord, where the previous result comes first:
    `chain(generate_daily_report.s(), send_admin_notification.s("Daily Report", "Done"))`.
    """
    previous, texts = None, list(args)
    if texts and not isinstance(texts[0], str):
        previous = texts.pop(0)
    subject = texts[0] if texts else kwargs.get("subject", "Backoffice notification")
    message = texts[1] if len(texts) > 1 else kwargs.get("message", "")
    return admin_mail.admins_notify(subject=subject, message=message, previous=previous)
