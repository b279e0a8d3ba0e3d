"""A staff member composes a notification, previews it, sends it after the confirmation,
watches the progress reach "Sent" on the same page, and opens its deliveries."""

import uuid

from playwright.sync_api import expect

from journeys.conftest import screenshot
from tests.processes import wait_until

RECIPIENTS = 5


def test_compose_preview_send_and_follow_it_to_sent(staff_page, stack, smtp_sink):
    page = staff_page
    subject = f"Journey news {uuid.uuid4().hex[:6]}"
    addresses = [f"reader{n}-{uuid.uuid4().hex[:6]}@example.com" for n in range(RECIPIENTS)]

    page.goto(f"{stack.url}/admin/notifications/notification/add/")
    page.fill("#id_subject", subject)
    page.fill("#id_html_body", "<p>Hello {{ first_name|default:'there' }}, news from us.</p>")
    expect(page.locator("#id_addresses")).to_be_hidden()  # only the audience's own fields
    page.select_option("#id_audience", "addresses")
    expect(page.locator("#id_addresses")).to_be_visible()
    page.fill("#id_addresses", "\n".join(addresses))
    screenshot(page, "compose")
    page.click("button[name=_continue]")
    expect(page.locator("#preview-subject")).to_have_text(subject)

    page.click("#send-now")
    expect(page.locator("#send-recipients")).to_have_text(str(RECIPIENTS))
    screenshot(page, "send-confirmation")
    page.click("#confirm-submit")

    status = page.locator("#notification-status")
    page.evaluate("window.sameDocument = true")
    expect(status).to_have_text("Sent", timeout=90_000)
    expect(page.locator('#progress-counts [data-count="sent"]')).to_have_text(str(RECIPIENTS))
    assert page.evaluate("window.sameDocument === true")  # it got there by itself
    screenshot(page, "notification-sent")

    def delivered():
        got = {m["X-Envelope-To"] for m in smtp_sink.messages if m["Subject"] == subject}
        return got if got == set(addresses) else None

    wait_until(delivered, timeout=30, what="one email per recipient", interval=0.3)

    page.locator('#progress-counts [data-count="sent"]').click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(RECIPIENTS)
    for address in addresses:
        expect(page.locator("#result_list")).to_contain_text(address)
