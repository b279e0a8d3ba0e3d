"""Template filters for the admin's own pages."""

from django import template
from django.db import models
from django.utils.text import capfirst

from backoffice.readable import readable_block, readable_line

register = template.Library()


@register.filter(is_safe=True)
def header_part(title):
    """A part of the page header: names of apps and models start with a capital; an
    object is shown as it names itself (a dotted task name stays `maintenance.tasks.fail`).

    A title that is already HTML (a custom page's title, rendered once by its template)
    stays marked safe, so it is not escaped a second time.
    """
    if isinstance(title, models.Model):
        return str(title)
    return capfirst(title)


@register.filter
def readable(text):
    """A stored value (arguments, a result) as an indented, wrapped block."""
    return readable_block(text)


@register.filter
def readable_short(text, length=80):
    """A stored value on one wrapped line, cut to `length` characters."""
    return readable_line(text, int(length))
