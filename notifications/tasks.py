"""Thin Celery tasks for email: parse ids, call a service, return a small dict."""

from celery import shared_task

from backoffice.housekeeping import HOUSEKEEPING
from backoffice.task_arguments import (
    NoArguments,
    StrictCharField,
    StrictIntegerField,
    TaskArguments,
)
from notifications import services
from notifications.models import OutgoingEmail
from notifications.sending import send_batch
from notifications.transactional import previous_text

Kind = OutgoingEmail.Kind


class EmailNotSent(Exception):
    """A transactional email failed for good; the message gives the recipient and reply."""


class Sweep(NoArguments):
    operable = True


class NotificationArguments(TaskArguments):
    """A scheduled send (the Schedule button makes one) names only its notification."""

    operable = True
    permission = "notifications.send_notification"
    notification_id = StrictIntegerField(min_value=1)


# What the engine sends itself; staff other than superusers do not run these by hand.
class EmailArguments(TaskArguments):
    email_id = StrictIntegerField(min_value=1)


class UserArguments(TaskArguments):
    user_id = StrictIntegerField(min_value=1)


class DrainArguments(TaskArguments):
    notification_id = StrictIntegerField(min_value=1)


class TestCopyArguments(TaskArguments):
    notification_id = StrictIntegerField(min_value=1)
    user_id = StrictIntegerField(min_value=1)


class AdminNoticeArguments(TaskArguments):
    """A subject and a message; as a chain or chord callback the previous step's result
    (any JSON value that is not a text) comes first and is shown in the notice."""

    subject = StrictCharField(required=False, max_length=200)
    message = StrictCharField(required=False, max_length=10_000, allow_blank=True)

    @staticmethod
    def split(args) -> tuple[object, list]:
        """(the previous step's result or None, the texts): a first argument that is not a
        text is the previous step's result."""
        args = list(args)
        return (args[0], args[1:]) if args and not isinstance(args[0], str) else (None, args)

    @classmethod
    def checked(cls, args=(), kwargs=None) -> dict:
        if not isinstance(args, list | tuple):
            return super().checked(args, kwargs)  # refused there, with the reason
        previous, texts = cls.split(args)
        checked = super().checked(texts, kwargs)
        return checked if previous is None else {"previous": previous, **checked}


@shared_task(bind=True, name="notifications.tasks.send_email", queue="email", acks_late=True,
             arguments=EmailArguments)
def send_email(self, email_id: int) -> dict:
    """Send one recorded transactional email (claimed first: a second task sends nothing).
    A transient failure queues it again after its backoff; a permanent one fails the task,
    so it shows among the failed tasks (resend it from Email › Outgoing email)."""
    result = send_batch(ids=[email_id], worker=self.request.hostname or "")
    if not result.claimed:
        return {"email_id": email_id, "status": "skipped",
                "reason": "already sent, not due yet, or being sent by another worker"}
    if result.retrying:
        services.email_enqueue(email_id=email_id, countdown=result.retry_in)
        return {"email_id": email_id, "status": "waiting to retry", "retry_in": result.retry_in}
    if result.failed:
        (address, reply), = result.errors.items()
        raise EmailNotSent(f"email {email_id} to {address} failed: {reply}. "
                           "Resend it from Email › Outgoing email.")
    return {"email_id": email_id, "status": "sent"}


def _record_and_send(kind: str, user_id: int) -> dict:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=user_id)
    email = OutgoingEmail.objects.create(lane=OutgoingEmail.Lane.TRANSACTIONAL, kind=kind,
                                         user=user, to_email=user.email)
    return send_email(email.pk)  # in this process: the row is the record either way


@shared_task(name="notifications.tasks.send_welcome_email", queue="email", acks_late=True,
             arguments=UserArguments)
def send_welcome_email(user_id: int) -> dict:
    """Record and send the welcome email of a user (registration records its own)."""
    return _record_and_send(Kind.WELCOME, user_id)


@shared_task(name="notifications.tasks.send_password_reset_email", queue="email", acks_late=True,
             arguments=UserArguments)
def send_password_reset_email(user_id: int) -> dict:
    """Record and send a password-reset link (made at send time) to a user."""
    return _record_and_send(Kind.PASSWORD_RESET, user_id)


@shared_task(name="notifications.tasks.sweep_outgoing_email", queue="email",
             arguments=Sweep, **HOUSEKEEPING)
def sweep_outgoing_email() -> dict:
    """Take back email whose worker died, queue again what a lost message left, finish
    notifications with nothing left to send (periodic)."""
    return services.outgoing_sweep()


# --- Bulk notifications -------------------------------------------------------------------


@shared_task(name="notifications.tasks.send_bulk_notifications", queue="bulk", acks_late=True,
             arguments=NotificationArguments)
def send_bulk_notifications(notification_id: int) -> dict:
    """Start sending a notification to its audience (beat's scheduled send, a shell, the
    API): its rows are written and the drain queued. A second call does nothing."""
    try:
        started = services.notification_start(notification_id=notification_id)
    except services.NotificationStateError as exc:
        return {"notification_id": notification_id, "status": "not sendable",
                "reason": str(exc)}
    return {"notification_id": notification_id, "status": "sending",
            "recipients": started.waiting}


@shared_task(bind=True, name="notifications.tasks.drain_notification", queue="bulk", acks_late=True,
             arguments=DrainArguments)
def drain_notification(self, notification_id: int) -> dict:
    """Send one batch (NOTIFICATION_BATCH_SIZE recipients) of a sending notification over
    one SMTP connection, queueing the next batch while recipients remain."""
    return services.notification_drain(notification_id=notification_id,
                                       worker=self.request.hostname or "")


@shared_task(bind=True, name="notifications.tasks.send_test_notification", queue="email",
             arguments=TestCopyArguments)
def send_test_notification(self, notification_id: int, user_id: int) -> dict:
    """Send one copy of a notification to a staff user's own address, marked as a test."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=user_id)
    if not user.email:
        return {"sent": False, "error": "your account has no email address"}
    email = OutgoingEmail.objects.create(
        lane=OutgoingEmail.Lane.TRANSACTIONAL, kind=Kind.TEST_COPY, user=user,
        to_email=user.email.lower(), context={"notification_id": notification_id})
    outcome = services.emails_send_now(ids=[email.pk], worker=self.request.hostname or "")
    return {"sent": bool(outcome["sent"]), "to": user.email,
            "error": "; ".join(outcome["failed"].values())}


@shared_task(bind=True, name="notifications.tasks.send_admin_notification", queue="email",
             arguments=AdminNoticeArguments)
def send_admin_notification(self, *args, **kwargs) -> dict:
    """Email every active staff member and superuser.

    Works alone — `send_admin_notification.delay("Subject", "Message")` — and as a callback
    in a chain or chord, where the previous result comes first:
    `chain(generate_daily_report.s(), send_admin_notification.s("Daily Report", "Done"))`.
    """
    previous, texts = AdminNoticeArguments.split(args)
    subject = texts[0] if texts else kwargs.get("subject", "Backoffice notification")
    message = texts[1] if len(texts) > 1 else kwargs.get("message", "")
    subject = " ".join(str(subject).split())[:200] or "Backoffice notification"
    ids = services.admin_notices_schedule(
        subject=subject, body=(str(message) or subject) + previous_text(previous), enqueue=False)
    outcome = services.emails_send_now(ids=ids, worker=self.request.hostname or "")
    recipients = sorted(OutgoingEmail.objects.filter(pk__in=ids, status="sent")
                        .values_list("to_email", flat=True))
    return {"subject": subject, "sent": len(recipients), "recipients": recipients,
            "failed": outcome["failed"]}
