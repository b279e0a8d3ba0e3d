"""Personal fields in a notification's subject and bodies, rendered by Django's template
engine limited to a few variables and one filter.

    Hello {{ first_name|default:"there" }}, your account is {{ username }}.

Tags, other filters, attribute lookups and unknown names are refused when saving, with the
line and column. The HTML body is autoescaped, and sanitised again once a recipient's values
are in it (a first name `javascript:…` in an href must not become a link); subject and text
body are not HTML. Templates are compiled once per batch and rendered per recipient.
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

_library = Library()
_library.filter("default", default_filter)


@lru_cache(maxsize=1)
def engine() -> Engine:
    # debug=True keeps each token's position, so errors can say where they are.
    built = Engine(debug=True, builtins=[])
    built.template_builtins = [_library]
    return built


def _where(source: str, start: int) -> str:
    line = source.count("\n", 0, start) + 1
    column = start - (source.rfind("\n", 0, start) + 1) + 1
    return f"line {line}, column {column}"


def _unknown_fields(template) -> list[tuple[str, int]]:
    """(name as written, offset) of every variable that is not an allowed field."""
    problems = []
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        expression = node.filter_expression
        variable = expression.var
        lookups = getattr(variable, "lookups", None)
        name = getattr(variable, "var", variable)
        if lookups is None or len(lookups) != 1 or lookups[0] not in FIELDS:
            problems.append((str(name), node.token.position[0]))
    return problems


def compile_template(source: str, *, label: str = "text"):
    """A compiled template of `source`, or ValidationError naming the problem and where."""
    try:
        template = engine().from_string(source or "")
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        where = _where(source, info["start"]) if "start" in info else "somewhere"
        raise ValidationError(f"Template error in the {label} at {where}: {exc}",
                              code="template") from exc
    for node in template.nodelist.get_nodes_by_type(TextNode):
        for opening in ("{{", "{%", "{#"):
            if opening in node.s:
                start = node.token.position[0] + node.s.index(opening)
                raise ValidationError(
                    f"Template error in the {label} at {_where(source, start)}: "
                    f"{opening!r} is not closed.", code="template")
    unknown = _unknown_fields(template)
    if unknown:
        name, start = unknown[0]
        raise ValidationError(
            f"Unknown field {name!r} in the {label} at {_where(source, start)}; "
            f"use {', '.join('{{ ' + field + ' }}' for field in FIELDS)}.",
            code="template")
    return template


def has_fields(source: str) -> bool:
    return "{{" in (source or "") or "{%" in (source or "")


@dataclass(frozen=True)
class Recipient:
    email: str
    first_name: str = ""
    last_name: str = ""
    username: str = ""

    def context(self) -> dict:
        return {"first_name": self.first_name, "last_name": self.last_name,
                "username": self.username, "email": self.email}


class CompiledMessage:
    """A notification's subject, text and HTML compiled once; `render` per recipient.
    Parts without fields are kept as they are and cost nothing per recipient."""

    def __init__(self, *, subject: str, text: str, html: str):
        self.parts = {}
        for name, source in (("subject", subject), ("text", text), ("html", html)):
            if not has_fields(source):
                self.parts[name] = source
                continue
            template = compile_template(source, label=name)
            # One context per part, refilled per recipient; the node list is rendered
            # directly (no per-render template binding).
            context = Context({}, autoescape=name == "html")
            context.template = template
            self.parts[name] = (template.nodelist, context.dicts[-1], context)

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
                nodelist, fields, context = part
                fields.update(values)
                part = str(nodelist.render(context))
                if name == "html":
                    part = sanitise_html(part)
            out.append(part)
        out[0] = " ".join(out[0].split())
        return out[0], out[1], out[2]
