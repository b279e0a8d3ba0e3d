"""Changelist filters shared by every app's admin."""

from django.utils import timezone
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.utils import parse_datetime_str


class LocalDateTimeRangeFilter(RangeDateTimeFilter):
    """Unfold's date-time range, read in the current time zone. Unfold's own passes naive
    datetimes on, which Django reads in TIME_ZONE with a RuntimeWarning on every query."""

    def queryset(self, request, queryset):
        filters = {}
        for side, lookup in (("from", "gte"), ("to", "lte")):
            day = self.used_parameters.get(f"{self.parameter_name}_{side}_0")
            clock = self.used_parameters.get(f"{self.parameter_name}_{side}_1") or "00:00"
            value = parse_datetime_str(f"{day} {clock}") if day else None
            if value is not None:
                filters[f"{self.parameter_name}__{lookup}"] = timezone.make_aware(value)
        return queryset.filter(**filters)
