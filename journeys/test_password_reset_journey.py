"""An API user forgets their password: the email's link, a new password, a login with it."""

import re
import uuid

from journeys.api import api_post
from journeys.conftest import screenshot
from tests.processes import wait_until


def _reset_link(smtp_sink, address: str, stack_url: str) -> str:
    def arrived():
        for message in smtp_sink.messages:
            if address in message["To"] and "reset" in message["Subject"].lower():
                body = message.get_payload(decode=True) if not message.is_multipart() else \
                    message.get_payload(0).get_payload(decode=True)
                return body.decode()
        return None

    body = wait_until(arrived, timeout=60, what="the password-reset email", interval=0.3)
    link = re.search(r"(https?://\S+/account/reset/\?\S+)", body)
    assert link, body
    assert link.group(1).startswith(stack_url + "/"), "the link must point at this site"
    return link.group(1).replace("&amp;", "&")


def test_reset_link_sets_a_new_password_that_logs_in(stack, smtp_sink, browser):
    name = f"journey-{uuid.uuid4().hex[:8]}"
    address = f"{name}@example.com"
    old_password, new_password = f"Old-{uuid.uuid4().hex}", f"New-{uuid.uuid4().hex}"
    status, body = api_post(stack.url, "/api/register/", {
        "username": name, "email": address, "password": old_password,
        "first_name": "Journey", "last_name": "User"})
    assert status == 201, body
    status, body = api_post(stack.url, "/api/password-reset/", {"email": address})
    assert status == 200, body
    link = _reset_link(smtp_sink, address, stack.url)

    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(link)
    assert page.locator("input[name=new_password1]").is_visible()
    # Two different passwords: the form says so and the old password still works.
    page.fill("input[name=new_password1]", new_password)
    page.fill("input[name=new_password2]", new_password + "x")
    page.click("button[type=submit]")
    page.get_by_text("The two passwords differ.").wait_for()
    page.fill("input[name=new_password1]", new_password)
    page.fill("input[name=new_password2]", new_password)
    screenshot(page, "password-reset")
    page.click("button[type=submit]")
    page.get_by_text("Your password has been changed").first.wait_for()

    status, body = api_post(stack.url, "/api/login/", {"username": name,
                                                       "password": new_password})
    assert status == 200 and body["token"], body
    status, _ = api_post(stack.url, "/api/login/", {"username": name, "password": old_password})
    assert status in (400, 401)

    page.goto(link)  # the link is spent
    page.get_by_text("This link cannot be used").first.wait_for()
    assert page.locator("input[name=new_password1]").count() == 0
    page.context.close()
