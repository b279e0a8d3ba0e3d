"""The sweep enqueues what is pending; staff see every attempt in the admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from notifications import tasks
from notifications.models import EmailAttempt, OutgoingEmail
from notifications.retries import retry_delay
from notifications.schedules import SWEEP_TASK, SWEEP_TASK_NAME
from notifications.tests.helpers import final


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sweep_enqueues_pending_emails_once(celery_worker, smtp):
    user = User.objects.create_user("late", "late@example.com", "pw-Long-enough-1")
    email = OutgoingEmail.objects.create(kind="welcome", user=user, to_email=user.email)
    OutgoingEmail.objects.filter(pk=email.pk).update(
        created_at=timezone.now() - timedelta(minutes=1))
    fresh = OutgoingEmail.objects.create(kind="welcome", user=user, to_email=user.email)

    # Housekeeping keeps no result; this call asks for one to read the counts.
    result = tasks.sweep_pending_emails.apply_async(ignore_result=False).get(timeout=30)

    assert result == {"due": 1, "enqueued": 1}  # the fresh row is left to its own enqueue
    [message] = smtp.wait_for(1)
    assert message["To"] == "late@example.com"
    assert final(email).status == "sent"
    fresh.refresh_from_db()
    assert fresh.status == "pending"
    assert tasks.sweep_pending_emails.apply_async(ignore_result=False).get(timeout=30)[
        "due"] == 0


@pytest.mark.django_db
def test_sweep_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name=SWEEP_TASK_NAME)
    assert task.task == SWEEP_TASK and task.enabled and task.interval is not None


def test_backoff_grows_exponentially_with_jitter_and_is_capped(settings):
    settings.EMAIL_RETRY_BACKOFF_SECONDS = 10
    settings.EMAIL_RETRY_BACKOFF_MAX_SECONDS = 100
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {retry_delay(attempt=attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter


@pytest.mark.django_db
def test_admin_shows_status_and_every_attempt(client):
    admin = User.objects.create_superuser("root", "root@example.com", "pw-Long-enough-1")
    email = OutgoingEmail.objects.create(
        kind="welcome", user=admin, to_email=admin.email, status="failed", attempts=2,
        last_smtp_code=550, last_error="550 5.1.1 mailbox unavailable")
    now = timezone.now()
    EmailAttempt.objects.create(email=email, number=1, started_at=now, finished_at=now,
                                outcome="transient", smtp_code=451, error="451 later")
    EmailAttempt.objects.create(email=email, number=2, started_at=now, finished_at=now,
                                outcome="permanent", smtp_code=550,
                                error="550 5.1.1 mailbox unavailable")
    client.force_login(admin)

    listing = client.get("/admin/notifications/transactionalemail/?q=root")
    page = client.get(f"/admin/notifications/transactionalemail/{email.pk}/change/")

    assert listing.status_code == 200 and b"550 5.1.1 mailbox unavailable" in listing.content
    assert page.status_code == 200
    assert b"451 later" in page.content and b"mailbox unavailable" in page.content
    assert client.get("/admin/notifications/transactionalemail/add/").status_code == 403


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_tasks_called_the_seed_way_with_only_a_user_id(celery_worker, smtp):
    user = User.objects.create_user("seed", "seed@example.com", "pw-Long-enough-1",
                                    first_name="Sid")

    welcome = tasks.send_welcome_email.delay(user.pk).get(timeout=30)
    reset = tasks.send_password_reset_email.delay(user.pk).get(timeout=30)

    assert welcome["status"] == reset["status"] == "sent"
    messages = smtp.wait_for(2)
    assert [m["To"] for m in messages] == ["seed@example.com", "seed@example.com"]
    kinds = set(OutgoingEmail.objects.filter(user=user).values_list("kind", "status"))
    assert kinds == {("welcome", "sent"), ("password_reset", "sent")}


@pytest.mark.django_db
def test_an_email_that_cannot_be_rendered_fails_with_the_reason(monkeypatch):
    from notifications import services

    user = User.objects.create_user("tpl", "tpl@example.com", "pw-Long-enough-1")
    email = OutgoingEmail.objects.create(kind="welcome", user=user, to_email=user.email)

    def broken(email):
        raise ValueError("template exploded")

    monkeypatch.setattr(services, "_message", broken)
    result = services.transactional_email_send(email_id=email.pk)

    email.refresh_from_db()
    assert result.status == email.status == "failed"
    assert "template exploded" in email.last_error
    assert email.attempt_log.get().outcome == "permanent"
