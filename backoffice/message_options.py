"""What a periodic task may add to the message it sends: an allow-list, checked everywhere.

A periodic task row carries message options besides its task and arguments: `headers`
(JSON), `queue`, `exchange`, `routing_key`, `priority`. Celery's message protocol keeps
its own fields in the headers (`task`, `id`, `root_id`, `shadow`, `eta`, `timelimit`, ...):
a header named `task` would run another task than the one whose permission was checked.
So the headers accept only keys of the form `x-<name>` with short scalar values, and the
routing fields only the project's own queues. The admin form and "Run now" refuse anything
else (`message_options_problems`); beat drops it and logs an error (`message_options_safe`),
so a row written straight to the database cannot get around the check either.
"""

from __future__ import annotations

import json
import logging
import re

from django.conf import settings

logger = logging.getLogger(__name__)

HEADER_KEY = re.compile(r"^x-[a-z0-9][a-z0-9-]{0,62}$")
HEADER_VALUE_MAX_CHARS = 200
MAX_HEADERS = 20
PRIORITY_RANGE = range(0, 10)  # the Redis transport's priorities
HEADERS_RULE = ("keys of the form x-name (lower-case letters, digits and dashes) with a "
                "short text, number or true/false value")


def queue_names() -> tuple[str, ...]:
    return tuple(settings.CELERY_QUEUE_NAMES)


def header_problems(headers) -> list[str]:
    """Why these headers may not be sent (empty: they may)."""
    if not isinstance(headers, dict):
        return ["headers must be a JSON object"]
    problems = []
    if len(headers) > MAX_HEADERS:
        problems.append(f"at most {MAX_HEADERS} headers")
    refused = sorted(str(key) for key in headers if not HEADER_KEY.match(str(key)))
    if refused:
        problems.append(f"header(s) not allowed: {', '.join(refused)} (allowed: "
                        f"{HEADERS_RULE})")
    for key, value in headers.items():
        if not HEADER_KEY.match(str(key)):
            continue
        if isinstance(value, dict | list) or value is None:
            problems.append(f"header {key}: the value must be a text, number or true/false")
        elif isinstance(value, str) and len(value) > HEADER_VALUE_MAX_CHARS:
            problems.append(f"header {key}: at most {HEADER_VALUE_MAX_CHARS} characters")
    return problems


def routing_problems(*, queue=None, exchange=None, routing_key=None, priority=None
                     ) -> list[str]:
    """Why these routing fields may not be used (empty: they may)."""
    names = queue_names()
    problems = []
    for label, value in (("queue", queue), ("exchange", exchange),
                         ("routing key", routing_key)):
        if value not in (None, "") and value not in names:
            problems.append(f"{label} {value!r} is not one of this project's queues "
                            f"({', '.join(names)})")
    if priority is not None and priority not in PRIORITY_RANGE:
        problems.append(f"priority must be between {PRIORITY_RANGE.start} and "
                        f"{PRIORITY_RANGE.stop - 1}")
    return problems


def parsed_headers(text: str | None):
    """The headers JSON of a periodic task row; ValueError when it is not JSON."""
    return json.loads(text or "{}")


def message_options_problems(task) -> list[str]:
    """Why the periodic task row `task` may not be saved or sent as it stands."""
    try:
        headers = parsed_headers(task.headers)
    except ValueError:
        return ["headers must be a JSON object"]
    return [*header_problems(headers),
            *routing_problems(queue=task.queue, exchange=task.exchange,
                              routing_key=task.routing_key, priority=task.priority)]


def message_options_safe(task) -> dict:
    """The options to send `task` with: allowed headers and routing only (anything else is
    dropped and logged), plus `periodic_task_name`."""
    try:
        given = parsed_headers(task.headers)
    except ValueError:
        given = {}
    if not isinstance(given, dict):
        given = {}
    headers = {key: value for key, value in given.items()
               if not header_problems({key: value})}
    options = {}
    for name in ("queue", "exchange", "routing_key", "priority"):
        value = getattr(task, name)
        if value not in (None, "") and not routing_problems(**{name: value}):
            options[name] = value
    dropped = sorted({*given} - {*headers}) + sorted(
        name for name in ("queue", "exchange", "routing_key", "priority")
        if getattr(task, name) not in (None, "") and name not in options)
    if dropped:
        logger.error("periodic task %r: not sent with %s (not allowed in a periodic task's "
                     "message)", task.name, ", ".join(map(str, dropped)))
    options["headers"] = {**headers, "periodic_task_name": task.name}
    return options
