"""Counts as every admin page shows them: grouped the way the active locale groups digits
(Django's humanize `intcomma`, which follows the locale's separator and NUMBER_GROUPING).
Templates use `{% load humanize %}` and `|intcomma`; Python code uses these."""

from django.contrib import admin
from django.contrib.humanize.templatetags.humanize import intcomma


def count(value) -> str:
    """A number with its digits grouped ("1,234" in English); "—" for nothing."""
    return "—" if value is None else intcomma(value)


def count_column(field: str, label: str):
    """An admin column or detail field showing a model's number with its digits grouped."""
    @admin.display(description=label, ordering=field)
    def column(self, obj):
        return count(getattr(obj, field))

    return column
