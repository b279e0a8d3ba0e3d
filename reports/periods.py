"""Days and weeks in the project's time zone, and parsing them from user input."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


class InvalidPeriod(ValueError):
    """A date or range given by a user that cannot be used; the message says why."""


def parse_day(value: str | dt.date | None, *, default: dt.date | None = None) -> dt.date:
    """A `date` from an ISO string (YYYY-MM-DD), a date, or None (→ `default`)."""
    if value is None or value == "":
        if default is None:
            raise InvalidPeriod("a date is required (YYYY-MM-DD)")
        return default
    if isinstance(value, dt.datetime):
        raise InvalidPeriod(f"expected a date, got a date-time: {value!r}")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidPeriod(f"invalid date {value!r}: use YYYY-MM-DD") from None


def today() -> dt.date:
    return timezone.localdate()


def yesterday() -> dt.date:
    return today() - dt.timedelta(days=1)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day as aware date-times (DST-safe)."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def last_full_week_start() -> dt.date:
    """The Monday of the last complete week."""
    return monday_of(today()) - dt.timedelta(days=7)


def date_range(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from `start` to `end`, both included."""
    if end < start:
        raise InvalidPeriod(f"the range ends ({end}) before it starts ({start})")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
