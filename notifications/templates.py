"""Personal fields in a notification's subject and bodies: checked when it is saved, filled
in for each recipient when it is sent.

    Hello {{ first_name|default:"there" }}, your account is {{ username }}.

Only the four fields and the `default` filter with a quoted fallback are accepted. Saving
refuses anything else — a tag, another filter, a field as the fallback, an attribute
lookup, an unknown name, an unclosed `{{` — with the construct and its line, and renders
the result for a sample recipient, so a saved notification cannot fail when sent. The HTML
body is autoescaped, and sanitised again once a recipient's values are in it (a first name
`javascript:…` in an href must not become a link).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, TemplateSyntaxError
from django.template.base import TextNode, VariableNode
from django.template.defaultfilters import default as default_filter

from notifications.content import sanitise_html

FIELDS = ("first_name", "last_name", "username", "email")
ALLOWED = ", ".join("{{ " + field + " }}" for field in FIELDS)
FALLBACK_EXAMPLE = '{{ first_name|default:"there" }}'

# The one library the engine loads (Engine(builtins=[this module])): the `default` filter.
register = Library()
register.filter("default", default_filter)


class FieldsEngine(Engine):
    """An engine without Django's built-in tags and filters: only this module's library."""

    default_builtins = []


@lru_cache(maxsize=1)
def engine() -> Engine:
    # debug=True keeps each token's position, so errors can say where they are.
    return FieldsEngine(debug=True, builtins=[__name__], libraries={})


@dataclass(frozen=True)
class Recipient:
    email: str
    first_name: str = ""
    last_name: str = ""
    username: str = ""

    def context(self) -> dict:
        return {"first_name": self.first_name, "last_name": self.last_name,
                "username": self.username, "email": self.email}


SAMPLES = (Recipient(email="ada@example.com", first_name="Ada", last_name="Lovelace",
                     username="ada"),
           Recipient(email="someone@example.com"))  # empty fields: the fallbacks are used


def _line(source: str, start: int) -> int:
    return source.count("\n", 0, start) + 1


def _refuse(label: str, source: str, start: int, construct: str, why: str):
    raise ValidationError(
        f"Line {_line(source, start)} of the {label}: “{construct.strip()}” — {why}",
        code="template")


def _syntax_reason(message: str) -> str:
    """Django's wording of a template syntax error, said for someone writing an email."""
    if message.startswith("Invalid filter:"):
        name = message.partition(":")[2].strip().strip("'")
        return f"there is no filter “{name}”; only default is available, e.g. {FALLBACK_EXAMPLE}."
    if message.startswith("Invalid block tag") or "block tag" in message:
        return f"tags ({{% … %}}) are not available in emails; use {ALLOWED}."
    if "Could not parse" in message or "Empty variable tag" in message:
        return f"this cannot be read as a personal field; write it like {FALLBACK_EXAMPLE}."
    if "requires" in message and "arguments" in message:
        return f"default needs a quoted fallback, e.g. {FALLBACK_EXAMPLE}."
    return "this is not a personal field " + f"({message.rstrip('.')}); use {ALLOWED}."


def _check_variables(template, source: str, label: str) -> None:
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        start, end = node.token.position
        construct = source[start:end]
        expression = node.filter_expression
        lookups = getattr(expression.var, "lookups", None)
        if lookups is None or len(lookups) != 1 or lookups[0] not in FIELDS:
            _refuse(label, source, start, construct,
                    f"there is no personal field “{expression.var}”; use {ALLOWED}.")
        for _function, arguments in expression.filters:
            for is_variable, argument in arguments:
                if is_variable:
                    _refuse(label, source, start, construct,
                            f"the fallback “{argument}” must be quoted text, "
                            f"e.g. {FALLBACK_EXAMPLE}.")


def compile_template(source: str, *, label: str = "text"):
    """`source` compiled and checked, or ValidationError naming the construct and its line."""
    try:
        template = engine().from_string(source or "")
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        start = info.get("start", 0)
        construct = info.get("during") or source[start:start + 40]
        _refuse(label, source, start, construct, _syntax_reason(str(exc)))
    for node in template.nodelist.get_nodes_by_type(TextNode):
        for opening in ("{{", "{%", "{#"):
            if opening in node.s:
                start = node.token.position[0] + node.s.index(opening)
                _refuse(label, source, start, source[start:start + 30].splitlines()[0],
                        f"“{opening}” is not closed.")
    _check_variables(template, source, label)
    for sample in SAMPLES:  # what passed the checks above must also render
        try:
            template.render(Context(sample.context(), autoescape=label.startswith("HTML")))
        except Exception as exc:  # noqa: BLE001 - any failure here is the author's to fix
            raise ValidationError(f"The {label} could not be filled in for a sample "
                                  f"recipient: {exc}", code="template") from exc
    return template


def has_fields(source: str) -> bool:
    return "{{" in (source or "") or "{%" in (source or "")


class CompiledMessage:
    """A notification's subject, text and HTML compiled once; `render` per recipient.
    Parts without fields are kept as they are and cost nothing per recipient."""

    LABELS = {"subject": "subject", "text": "text body", "html": "HTML body"}

    def __init__(self, *, subject: str, text: str, html: str):
        self.parts = {}
        for name, source in (("subject", subject), ("text", text), ("html", html)):
            self.parts[name] = compile_template(source, label=self.LABELS[name]) \
                if has_fields(source) else source

    @property
    def personal(self) -> bool:
        return any(not isinstance(part, str) for part in self.parts.values())

    def render(self, recipient: Recipient) -> tuple[str, str, str]:
        """(subject, text, html) for `recipient`; the subject folded onto one line."""
        values = recipient.context()
        out = []
        for name in ("subject", "text", "html"):
            part = self.parts[name]
            if not isinstance(part, str):
                part = part.render(Context(values, autoescape=name == "html"))
                if name == "html":
                    part = sanitise_html(part)
            out.append(part)
        return " ".join(out[0].split()), out[1], out[2]
