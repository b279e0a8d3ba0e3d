"""Pages staff read in a 1440 px wide window, in Chromium with DEBUG on as `make run` serves
them: task arguments and results pretty-printed, wrapped and escaped; a workflow's results
readable in full; the notifications list and its text preview inside the page; breadcrumbs
whole."""

import json

import pytest
from django.urls import reverse
from django_celery_results.models import TaskResult

from operations.models import TaskRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1440, "height": 900}
LONG_WORD = "x" * 400  # no place to break: only wrapping anywhere keeps it in the page
RESULT = {"subject": "<script>window.hacked = 1</script>", "sent": 1, "note": LONG_WORD,
          "recipients": [f"user{n}@example.com" for n in range(30)], "last_key": "the end"}

# Elements wider than the room they are given (a clipped or sideways-scrolling part).
OVERFLOWING = """(selector) => [...document.querySelectorAll(selector)]
    .filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => `${el.tagName}.${el.className} ${el.scrollWidth} > ${el.clientWidth}`)"""


@pytest.fixture
def wide_page(page, live_server, client, django_user_model, settings):
    settings.DEBUG = True
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-Root-1")
    client.login(username="root", password="pw-Root-1")
    page.set_viewport_size(WIDE)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == []
    assert page.evaluate("window.hacked") is None  # no stored text ever ran as script


def _open(page, live_server, path):
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(OVERFLOWING, "html, #main, .bo-readable, .bo-readable pre") == []


def _workflow():
    common = {"root_id": "wf-root", "group_id": "wf-group", "queue": "reports",
              "state": "SUCCESS"}
    TaskRun.objects.create(task_id="wf-root", name="reports.tasks.process_api_analytics",
                           result=json.dumps({"week_start": "2026-11-23", "rows": LONG_WORD}),
                           **common)
    return TaskRun.objects.create(task_id="wf-callback",
                                  name="notifications.tasks.send_admin_notification",
                                  args=json.dumps([[{"total_requests": 36620}], "Done"]),
                                  kwargs=json.dumps({"note": LONG_WORD}),
                                  result=json.dumps(RESULT), parent_id="wf-root", **common)


def test_task_history_detail_shows_arguments_and_result_pretty_printed(wide_page, live_server):
    run = _workflow()
    _open(wide_page, live_server, reverse("admin:operations_taskrun_change", args=[run.pk]))
    blocks = wide_page.locator(".bo-readable:visible")
    assert blocks.count() == 3  # args, kwargs, result
    result = blocks.nth(2).inner_text()
    assert '    "last_key": "the end"' in result  # one key a line, indented
    assert '"subject": "<script>window.hacked = 1</script>"' in result  # shown, not run


def test_task_result_shows_the_stored_python_arguments_as_data(wide_page, live_server):
    stored = TaskResult.objects.create(
        task_id="tr-1", task_name="notifications.tasks.send_admin_notification",
        status="SUCCESS", task_args=json.dumps(repr(([{"week_start": "2026-11-23"}], "<b>"))),
        task_kwargs=json.dumps(repr({})), result=json.dumps(RESULT),
        meta=json.dumps({"children": []}))
    _open(wide_page, live_server,
          reverse("admin:django_celery_results_taskresult_change", args=[stored.pk]))
    text = wide_page.locator("#content").inner_text()
    assert '"week_start": "2026-11-23"' in text and '"<b>"' in text
    assert "\"([{'week_start'" not in text  # not the raw repr inside a JSON string
    assert '    "last_key": "the end"' in text


def test_workflow_results_are_wrapped_and_open_in_full(wide_page, live_server):
    run = _workflow()
    _open(wide_page, live_server, reverse("admin:operations_workflow", args=[run.task_id]))
    card = "#ops-workflow .overflow-x-auto"
    assert wide_page.evaluate(OVERFLOWING, card) == []  # the table fits its card
    cell = wide_page.locator(f'tr[data-result-of="{run.task_id}"]')
    assert "the end" not in cell.inner_text()  # closed: one shortened line
    cell.locator("summary").click()
    assert '    "last_key": "the end"' in cell.locator(".bo-readable").inner_text()
    assert wide_page.evaluate(OVERFLOWING, f"{card}, .bo-readable, .bo-readable pre") == []
    # The page refreshes itself; the opened result stays open.
    wide_page.evaluate("window.swaps = 0; "
                       "document.addEventListener('htmx:afterSwap', () => window.swaps++)")
    wide_page.wait_for_function("window.swaps > 0")
    assert wide_page.locator(f'tr[data-result-of="{run.task_id}"] details').get_attribute(
        "open") is not None


def test_notifications_list_and_text_preview_fit_a_1440_px_window(wide_page, live_server):
    from notifications.models import Notification

    subject = 'Hi {{ first_name|default:"there" }}, our quarterly product update is here'
    notification = Notification.objects.create(
        subject=subject, text_body=f"Hello,\n{'a long line of text ' * 40}{LONG_WORD}",
        html_body="<p>Hi</p>", audience="addresses", addresses="a@example.com")
    Notification.objects.create(subject="Sent", text_body="Hi", status="sent")

    _open(wide_page, live_server, reverse("admin:notifications_notification_changelist"))
    assert wide_page.evaluate(OVERFLOWING, "#changelist-form, #changelist-form div") == []

    _open(wide_page, live_server,
          reverse("admin:notifications_notification_change", args=[notification.pk]))
    assert wide_page.evaluate(OVERFLOWING, "#preview-text") == []  # the text part wraps
    # Breadcrumbs: the parts before the last are whole; the last carries the whole subject.
    crumbs = wide_page.locator("h1 a, h1 span:not(.material-symbols-outlined)")
    assert wide_page.evaluate(OVERFLOWING, "h1 a.shrink-0") == []
    assert crumbs.last.get_attribute("title") == subject
    assert crumbs.last.inner_text().startswith('Hi {{ first_name|default:"there" }}')
