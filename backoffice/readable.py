"""Stored task data (arguments, results, meta) shown readably in the admin: pretty-printed,
wrapped to the page and escaped, whatever the text holds."""

from __future__ import annotations

import ast
import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from unfold.utils import prettify_json

# Longer texts are shown as they are: parsing a Python literal costs time and memory.
PARSE_LIMIT = 200_000
_NOTHING = object()


def stored_value(text: str | None):
    """The value behind stored text, or `_NOTHING` when it is not data.

    JSON first; a JSON string that holds a Python literal (django-celery-results keeps
    arguments as the repr of a tuple inside a JSON string) is read as that literal.
    """
    if not text or len(text) > PARSE_LIMIT:
        return _NOTHING
    try:
        value, decoded = json.loads(text), True
    except ValueError:
        value, decoded = text, False
    if not isinstance(value, str):
        return value
    # A JSON string is shown as that string unless it holds a literal JSON can show (not
    # a set, nor the `...` that a shortened repr leaves).
    shown = value if decoded else _NOTHING
    try:
        literal = ast.literal_eval(value)
        json.dumps(literal)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return shown
    return literal


def readable_block(text: str | None) -> SafeString | str:
    """HTML for a stored value: indented, coloured JSON when the text holds data, else the
    text itself with its line breaks kept. Long lines wrap; a tall block scrolls."""
    if text in (None, ""):
        return "—"
    value = stored_value(text)
    if value is _NOTHING or isinstance(value, str):
        shown = text if value is _NOTHING else value
        return format_html('<div class="bo-readable"><pre class="bo-text-wrap">{}</pre></div>',
                           shown)
    pretty = prettify_json(value, None)
    if pretty is None:  # without Pygments: the same layout, uncoloured
        pretty = format_html('<pre class="bo-text-wrap">{}</pre>',
                             json.dumps(value, indent=4, sort_keys=True, ensure_ascii=False))
    return format_html('<div class="bo-readable">{}</div>', pretty)


def readable_line(text: str | None, length: int = 120) -> SafeString | str:
    """One wrapped line of a stored value for a list column, the whole of it on hover."""
    if text in (None, ""):
        return "—"
    value = stored_value(text)
    if value is not _NOTHING and not isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, str):
        text = value
    return format_html('<span class="bo-wrap" title="{}">{}</span>',
                       Truncator(text).chars(2000), Truncator(text).chars(length))


def readable_field(field: str, label: str):
    """An admin detail field showing a model's stored value as `readable_block` does."""
    @admin.display(description=label)
    def shown(self, obj):
        return readable_block(getattr(obj, field))

    return shown
