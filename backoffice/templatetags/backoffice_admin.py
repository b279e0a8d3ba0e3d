"""Template filters for the admin's own pages."""

from django import template
from django.db import models
from django.utils.text import capfirst

register = template.Library()


@register.filter
def header_part(title):
    """A part of the page header: names of apps and models start with a capital; an
    object is shown as it names itself (a dotted task name stays `maintenance.tasks.fail`)."""
    if isinstance(title, models.Model):
        return str(title)
    return capfirst(title)
