"""send_admin_notification alone and as the callback of the README's chain and chord."""

import pytest
from celery import chain, chord

from accounts.models import User
from notifications.tasks import send_admin_notification
from reports.tasks import generate_daily_report, process_api_analytics
from reports.tests.factories import DAY, log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admins():
    User.objects.create_superuser("root", "root@example.com", "x")
    User.objects.create_user("staffer", "staffer@example.com", "x", is_staff=True)
    User.objects.create_user("plain", "plain@example.com", "x")
    User.objects.create_user("retired", "retired@example.com", "x", is_staff=True,
                             is_active=False)


def test_alone_it_mails_every_active_admin(celery_worker, smtp, admins):
    result = send_admin_notification.delay("Backup done", "All good.").get(timeout=60)

    assert result["sent"] == 2
    received = smtp.wait_for(2)
    assert sorted(m["X-Envelope-To"] for m in received) == ["root@example.com",
                                                           "staffer@example.com"]
    assert received[0]["Subject"] == "[Backoffice] Backup done"
    assert received[0].get_payload().strip() == "All good."


def test_the_readmes_chain_delivers_the_report_summary(celery_worker, smtp, admins):
    log(DAY, status=200)
    log(DAY, status=500)
    log(DAY, route="/api/protected/", status=200)

    workflow = chain(generate_daily_report.s(DAY.isoformat()),
                     send_admin_notification.s("Daily Report", "Report generated!"))
    result = workflow.apply_async().get(timeout=90)

    assert result["sent"] == 2
    body = smtp.wait_for(2)[0].get_payload()
    assert body.startswith("Report generated!")
    assert '"total_requests": 3' in body and '"failed_requests": 1' in body
    assert '"success_rate": "66.7%"' in body and '"avg_response_time": "0.010s"' in body
    # The report's order, busiest route first (not alphabetical).
    assert body.index('"/api/public/": 2') < body.index('"/api/protected/": 1')


def test_the_readmes_chain_as_written_uses_yesterday(celery_worker, smtp, admins):
    workflow = chain(generate_daily_report.s(),
                     send_admin_notification.s("Daily Report", "Report generated!"))

    assert workflow.apply_async().get(timeout=90)["sent"] == 2
    assert "Result of the previous step" in smtp.wait_for(2)[0].get_payload()


def test_the_readmes_chord_notifies_after_both_analytics(celery_worker, smtp, admins):
    result = chord([process_api_analytics.s(), generate_daily_report.s()])(
        send_admin_notification.s("Analytics Complete")).get(timeout=90)

    assert result["subject"] == "Analytics Complete" and result["sent"] == 2
    body = smtp.wait_for(2)[0].get_payload()
    assert '"week_start"' in body and '"total_requests"' in body
