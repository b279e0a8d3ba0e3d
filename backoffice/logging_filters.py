"""Logging filters the settings' LOGGING uses."""

import logging

from django.core.exceptions import PermissionDenied


class ExpectedForbiddenFilter(logging.Filter):
    """A refused permission is expected (a role without it pressed a button): keep Django's
    one-line "Forbidden (Permission denied): <path>" warning, drop its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True
