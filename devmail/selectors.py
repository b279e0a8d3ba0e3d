"""Reads of caught mail: a message's headers and its text and HTML parts, made safe to show."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy

import nh3

# Links keep working (the reset link opens the reset page) but open in a new tab, with
# nh3's rel="noopener noreferrer"; no script, event handler or style survives.
LINK_ATTRIBUTES = {"target": "_blank"}


@dataclass(frozen=True)
class Readable:
    headers: list[tuple[str, str]]
    text: str
    html: str  # sanitised: safe to put in the page as it is


def readable(raw: bytes) -> Readable:
    """The headers and bodies of a raw message as staff should read them."""
    message = message_from_bytes(bytes(raw), policy=policy.default)
    headers = [(name, str(value)) for name, value in message.items()]
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else ""
    safe_html = nh3.clean(html, url_schemes={"http", "https", "mailto"},
                          set_tag_attribute_values={"a": LINK_ATTRIBUTES}) if html else ""
    return Readable(headers=headers, text=text, html=safe_html)
