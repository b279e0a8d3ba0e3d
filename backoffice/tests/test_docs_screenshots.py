"""The screenshots in the docs, taken by Chromium from the running product with DEBUG on as
`make run` serves it, so they show the pages as they are.

`UPDATE_SCREENSHOTS=1 make test PYTEST_ARGS=backoffice/tests/test_docs_screenshots.py`
writes docs/images/NAME.png (1440 x 900, optimised with oxipng); without it the test opens
the same pages and checks that each renders its content with no JavaScript error.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse

from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGES = Path(django_settings.BASE_DIR) / "docs" / "images"
VIEWPORT = {"width": 1440, "height": 900}  # wide enough for the sidebar
UPDATE = os.environ.get("UPDATE_SCREENSHOTS", "") == "1"
# name: (URL name, what must be on the page before the picture is taken)
SHOTS = {
    "dashboard": ("admin:index", '#system-status [data-part="workers"][data-ok="1"] ~ '
                  '[data-part="beat"][data-ok="1"]'),
    "charts": ("admin:reports_dailyreport_charts", "#report-charts canvas"),
    "notification-compose": ("admin:notifications_notification_add", "#notification_form"),
    "workers": ("admin:operations_workers", "#ops-workers-page [data-worker]"),
    "backups": ("admin:maintenance_backup_changelist", "#result_list"),
    "task-history": ("admin:operations_taskrun_changelist", "#result_list"),
}


def _product_in_use(tmp_path, settings):
    """Traffic reports, a backup and a few finished runs (through the real worker)."""
    from celery import chain

    from maintenance.services import backup_create
    from notifications.tasks import send_admin_notification
    from reports.tasks import generate_daily_report, process_api_analytics

    call_command("seed_demo", days=30, per_day=300, verbosity=0)
    settings.BACKUP_DIR = tmp_path
    backup_create(triggered_by="admin")
    chain(generate_daily_report.s(), send_admin_notification.s(
        "Daily Report", "Report generated!")).delay().get(timeout=120)
    process_api_analytics.delay().get(timeout=120)


def test_docs_screenshots(page, live_server, client, settings, tmp_path, django_user_model,
                          celery_worker, celery_beat):
    from operations.beat import beat_last_heartbeat

    settings.DEBUG = True
    settings.ENVIRONMENT_NAME = "development"  # the badge as `make run` shows it
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com",
                                                       "pw-Admin-123")
    _product_in_use(tmp_path, settings)
    wait_until(beat_last_heartbeat, what="beat's first tick")
    client.force_login(admin)
    page.set_viewport_size(VIEWPORT)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    errors = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))

    for name, (url_name, content) in SHOTS.items():
        response = page.goto(f"{live_server.url}{reverse(url_name)}")
        assert response.status == 200, (name, response.status)
        page.wait_for_selector(content, state="attached")
        page.wait_for_load_state("networkidle")
        if name == "notification-compose":  # a message being written, not an empty form
            page.fill("#id_subject", "What is new in December")
            page.fill("#id_text_body", 'Hi {{ first_name|default:"there" }},\n\n'
                      "this month brings faster reports and a new export.")
        if UPDATE:
            _write(page, name)
    assert errors == []


def _write(page, name: str) -> None:
    import oxipng

    IMAGES.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(400)  # let chart animations settle before the picture
    target = IMAGES / f"{name}.png"
    target.write_bytes(page.screenshot())
    oxipng.optimize(target, level=4, strip=oxipng.StripChunks.safe())


def test_every_screenshot_is_in_the_docs_and_every_picture_the_docs_show_exists():
    base = Path(django_settings.BASE_DIR)
    pages = [base / "README.md", *sorted((base / "docs").glob("*.md"))]
    shown = set()
    for doc in pages:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", doc.read_text()):
            path = (doc.parent / target).resolve()
            assert path.exists(), f"{doc.name} shows {target}, which does not exist"
            shown.add(path)
    assert {(IMAGES / f"{name}.png").resolve() for name in SHOTS} <= shown
