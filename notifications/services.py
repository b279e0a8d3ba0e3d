"""Writes for transactional email: record, enqueue, send (claim, attempt, outcome), sweep."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.email_change import EmailChange, confirm_link, confirm_token, undo_link
from notifications.mailer import SENT, Mailer, SendOutcome
from notifications.models import EmailAttempt, TransactionalEmail
from notifications.retries import retry_delay

logger = logging.getLogger(__name__)

Status = TransactionalEmail.Status
Kind = TransactionalEmail.Kind
SUBJECTS = {
    Kind.WELCOME: "Welcome to {site}, {name}!",
    Kind.PASSWORD_RESET: "Reset your {site} password",
    Kind.EMAIL_CHANGE_CONFIRM: "Confirm your new {site} email address",
    Kind.EMAIL_CHANGE_NOTICE: "A change of your {site} email address was requested",
    Kind.EMAIL_CHANGED: "Your {site} email address was changed",
    Kind.REGISTRATION_ATTEMPT: "Someone tried to register at {site} with your address",
}
# The tasks that send each kind, by name: the tasks call these services, so the services
# enqueue them by name rather than import them.
SEND_TASKS = {
    Kind.WELCOME: "notifications.tasks.send_welcome_email",
    Kind.PASSWORD_RESET: "notifications.tasks.send_password_reset_email",
    Kind.EMAIL_CHANGE_CONFIRM: "notifications.tasks.send_account_email",
    Kind.EMAIL_CHANGE_NOTICE: "notifications.tasks.send_account_email",
    Kind.EMAIL_CHANGED: "notifications.tasks.send_account_email",
    Kind.REGISTRATION_ATTEMPT: "notifications.tasks.send_account_email",
}
# How long a freshly recorded email is left to its own on_commit enqueue before the sweep.
SWEEP_MIN_AGE = timedelta(seconds=5)
# Publishing from a web request must not hang when Redis is down.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                        "interval_max": 0.2}


@dataclass
class Ticket:
    """Returned to whoever asked for an email; `queued` is set once the enqueue ran."""

    email_id: int
    queued: bool | None = None


@dataclass(frozen=True)
class SendResult:
    email_id: int
    status: str
    attempts: int
    retry_in: float | None = None  # seconds, when a transient failure should be retried
    smtp_code: int | None = None
    error: str = ""

    def as_dict(self) -> dict:
        return {"email_id": self.email_id, "status": self.status, "attempts": self.attempts,
                "smtp_code": self.smtp_code, "error": self.error}


def transactional_email_schedule(*, kind: str, user, to_email: str | None = None,
                                 context: dict | None = None) -> Ticket:
    """Record an email for `user` (to their address unless `to_email`) in the current
    transaction and enqueue it after commit."""
    email = TransactionalEmail.objects.create(kind=kind, user=user,
                                              to_email=to_email or user.email,
                                              context=context or {})
    ticket = Ticket(email_id=email.pk)

    def enqueue():
        ticket.queued = transactional_email_enqueue(email_id=email.pk)

    transaction.on_commit(enqueue)
    return ticket


def transactional_email_enqueue(*, email_id: int) -> bool:
    """Publish the send task. False (row stays pending, error noted) when the broker is down."""
    email = TransactionalEmail.objects.filter(pk=email_id).values("kind", "user_id").first()
    if email is None:
        return False
    try:
        result = current_app.signature(
            SEND_TASKS[email["kind"]], args=[email["user_id"]], kwargs={"email_id": email_id},
        ).apply_async(retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # kombu OperationalError, redis ConnectionError, timeouts
        logger.warning("could not enqueue email %s; the sweep will retry: %s", email_id, exc)
        TransactionalEmail.objects.filter(pk=email_id, status=Status.PENDING).update(
            last_error=f"queue unreachable, will be re-queued: {type(exc).__name__}: {exc}"[:2000],
            updated_at=timezone.now(),
        )
        return False
    # Only a row nobody has touched yet becomes "queued"; the worker may already be sending,
    # and then only which task sends it is added.
    if not TransactionalEmail.objects.filter(
        pk=email_id, status__in=[Status.PENDING, Status.QUEUED, Status.RETRYING]
    ).update(status=Status.QUEUED, task_id=result.id, queued_at=timezone.now(),
             updated_at=timezone.now()):
        TransactionalEmail.objects.filter(pk=email_id, task_id="").update(task_id=result.id)
    return True


def _claim(email_id: int) -> bool:
    """Atomically take the row for sending; False when it is done or someone else has it."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EMAIL_STALE_SECONDS)
    claimable = Q(status__in=[Status.PENDING, Status.QUEUED, Status.RETRYING]) | Q(
        status=Status.SENDING, updated_at__lt=stale
    )
    return bool(
        TransactionalEmail.objects.filter(claimable, pk=email_id).update(
            status=Status.SENDING, attempts=F("attempts") + 1, updated_at=now
        )
    )


def _message(email: TransactionalEmail) -> EmailMultiAlternatives:
    user = email.user
    name = (user.first_name or user.get_username()) if user else email.to_email
    context = {"user": user, "name": name, "site_name": settings.SITE_NAME,
               "to_email": email.to_email}
    if email.kind == Kind.PASSWORD_RESET:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        context.update(
            uid=uid, token=token,
            reset_link=settings.PASSWORD_RESET_LINK.format(uid=uid, token=token),
            valid_hours=max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        )
    elif email.kind in EMAIL_CHANGE_KINDS:
        context.update(_email_change_context(email))
    subject = SUBJECTS[email.kind].format(site=settings.SITE_NAME, name=name)
    subject = " ".join(subject.split())[:200]  # no header injection through a user's name
    template = f"notifications/email/{email.kind}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to_email],
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


EMAIL_CHANGE_KINDS = {Kind.EMAIL_CHANGE_CONFIRM, Kind.EMAIL_CHANGE_NOTICE, Kind.EMAIL_CHANGED}


def _email_change_context(email: TransactionalEmail) -> dict:
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


def transactional_email_send(*, email_id: int, worker: str = "",
                             mailer: Mailer | None = None) -> SendResult | None:
    """Send one recorded email once: claim it, try SMTP, record the attempt and the outcome.

    Returns None when the row is gone, already final, or being sent by someone else.
    A transient failure below the attempt bound leaves the row "retrying" with `retry_in`.
    """
    if not _claim(email_id):
        return None
    email = TransactionalEmail.objects.select_related("user").get(pk=email_id)
    started = timezone.now()
    if email.user is None or not email.user.is_active:
        outcome = SendOutcome("permanent", None, "the user no longer exists or is inactive")
    else:
        try:
            message = _message(email)
        except Exception as exc:  # a broken template must end the email, not wedge it
            logger.exception("could not render email %s", email.pk)
            return _record(email, SendOutcome("permanent", None, f"could not render: {exc!r}"),
                           started=started, worker=worker)
        email.subject = message.subject
        if mailer is None:
            with Mailer() as own:
                outcome = own.send(message)
        else:
            outcome = mailer.send(message)
    return _record(email, outcome, started=started, worker=worker)


def _record(email: TransactionalEmail, outcome: SendOutcome, *, started, worker) -> SendResult:
    now = timezone.now()
    retry_in = None
    if outcome.status == SENT:
        status = Status.SENT
    elif outcome.transient and email.attempts < settings.EMAIL_RETRY_MAX_ATTEMPTS:
        status, retry_in = Status.RETRYING, retry_delay(attempt=email.attempts)
    else:
        status = Status.FAILED
    with transaction.atomic():
        EmailAttempt.objects.create(
            email=email, number=email.attempts, started_at=started, finished_at=now,
            outcome=outcome.status, smtp_code=outcome.smtp_code, error=outcome.error[:2000],
            worker=worker[:255],
        )
        TransactionalEmail.objects.filter(pk=email.pk).update(
            status=status, subject=email.subject, last_smtp_code=outcome.smtp_code,
            last_error=outcome.error[:2000], message_id=outcome.message_id or email.message_id,
            sent_at=now if status == Status.SENT else None, updated_at=now,
            next_attempt_at=now + timedelta(seconds=retry_in) if retry_in is not None else None,
        )
    log = logger.info if status == Status.SENT else logger.warning
    log("email %s (%s to %s) attempt %s: %s %s", email.pk, email.kind, email.to_email,
        email.attempts, status, outcome.error)
    return SendResult(email.pk, status, email.attempts, retry_in, outcome.smtp_code,
                      outcome.error)


def transactional_emails_sweep(*, limit: int = 500) -> dict:
    """Enqueue emails that are pending (the broker was down) or stuck (a lost message).

    Pending rows younger than a few seconds are left to their own on_commit enqueue. A row
    enqueued twice is still sent once: the send claims the row.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EMAIL_STALE_SECONDS)
    due = (
        Q(status=Status.PENDING, created_at__lt=now - SWEEP_MIN_AGE)
        | Q(status=Status.RETRYING, next_attempt_at__lt=now - timedelta(minutes=5))
        | Q(status__in=[Status.QUEUED, Status.SENDING], updated_at__lt=stale)
    )
    ids = list(TransactionalEmail.objects.filter(due).order_by("pk")
               .values_list("pk", flat=True)[:limit])
    enqueued = 0
    for email_id in ids:
        if not transactional_email_enqueue(email_id=email_id):
            break  # the broker went away again; the next sweep carries on
        enqueued += 1
    return {"due": len(ids), "enqueued": enqueued}


def transactional_email_for_user(*, kind: str, user_id: int) -> TransactionalEmail:
    """Record an email for a direct task call that named only the user."""
    user = get_user_model().objects.get(pk=user_id)
    return TransactionalEmail.objects.create(kind=kind, user=user, to_email=user.email)
