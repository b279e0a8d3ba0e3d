"""Column and field labels read as words, and a task's dotted name keeps its case."""

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import OutgoingEmail
from operations.models import TaskRun
from reports.models import DailyReport

pytestmark = pytest.mark.django_db


def test_report_and_email_labels(admin_client):
    report = DailyReport.objects.create(date=timezone.localdate(), generated_at=timezone.now())
    page = admin_client.get(reverse("admin:reports_dailyreport_change", args=[report.pk]))
    html = page.content.decode()
    assert "Unique IPs" in html and "Unique ips" not in html
    assert "Average response time (ms)" in html

    OutgoingEmail.objects.create(lane="transactional", kind="welcome", to_email="a@example.com")
    emails = admin_client.get(reverse("admin:notifications_outgoingemail_changelist"))
    html = emails.content.decode()
    assert "Last SMTP code" in html and "Last smtp code" not in html


def test_a_task_run_shows_its_dotted_name_and_run_time_in_seconds(admin_client):
    run = TaskRun.objects.create(task_id="abc123", name="maintenance.tasks.fail",
                                 state=TaskRun.State.FAILURE, runtime=1.5)
    opts = TaskRun._meta
    page = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                    args=[run.pk]))
    html = page.content.decode()
    assert "Run time (seconds)" in html and "Seconds" not in html.replace(
        "Run time (seconds)", "")
    assert "maintenance.tasks.fail [abc123]" in html
    assert "Maintenance.tasks.fail" not in html
