"""Staff-written content made safe: sanitised HTML and a plain-text part derived from it."""

import html
import re

import nh3


def sanitise_html(value: str) -> str:
    """HTML without scripts, event handlers or links other than http(s) and mailto (Ammonia):
    staff-written bodies at save, and each recipient's body once personal fields are in."""
    return nh3.clean(value or "", url_schemes={"http", "https", "mailto"})


BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|blockquote)>|<br\s*/?>", re.I)
TAGS = re.compile(r"<[^>]+>")


def text_from_html(value: str) -> str:
    """A readable plain-text part from (already sanitised) HTML."""
    text = BLOCK_END.sub("\n", value or "")
    text = html.unescape(TAGS.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()
