"""The existing email rows become outgoing emails: every transactional email with its
attempts, every delivery; what was queued or in flight waits to be sent again."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("notifications", "0006_account_email_kinds")]
AFTER = [("notifications", "0007_one_outgoing_email")]


@pytest.mark.django_db(transaction=True)
def test_transactional_emails_and_deliveries_become_outgoing_emails():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    now = timezone.now()
    emails = old.get_model("notifications", "TransactionalEmail").objects
    sent = emails.create(kind="welcome", to_email="m@example.com",
                         status="sent", attempts=2, sent_at=now, subject="Welcome")
    emails.create(kind="password_reset", to_email="m@example.com",
                  status="sending", attempts=1)
    old.get_model("notifications", "EmailAttempt").objects.create(
        email_id=sent.pk, number=1, started_at=now, finished_at=now, outcome="transient",
        smtp_code=451, error="451 later")
    notification = old.get_model("notifications", "Notification").objects.create(
        subject="N", text_body="t", status="sending")
    deliveries = old.get_model("notifications", "Delivery").objects
    deliveries.create(notification_id=notification.pk, email="a@example.com", status="sent",
                      sent_at=now, attempts=1)
    deliveries.create(notification_id=notification.pk, email="b@example.com",
                      status="sending", claim="dead", lease_until=now)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    rows = new.get_model("notifications", "OutgoingEmail").objects
    try:
        welcome = rows.get(kind="welcome")
        assert (welcome.lane, welcome.status, welcome.attempts) == ("transactional", "sent", 2)
        assert [entry["reply"] for entry in welcome.attempt_log] == ["451 later"]
        assert rows.get(kind="password_reset").status == "pending"  # the sweep sends it
        bulk = dict(rows.filter(lane="bulk").values_list("to_email", "status"))
        assert bulk == {"a@example.com": "sent", "b@example.com": "pending"}
        assert not rows.filter(status="sending").exists()
    finally:
        MigrationExecutor(connection).loader.build_graph()
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
