"""Log every /api/ request to ApiRequest: route pattern, method, status, user, IP, duration.

Logging never breaks a request: a failure to write is logged and the response goes out.
Rows are written in batches by a background thread every API_REQUEST_LOG_FLUSH_SECONDS
(see reports.request_log), never in the request itself.
"""

import logging
from functools import lru_cache
from time import perf_counter_ns, time_ns

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.utils.functional import SimpleLazyObject

from accounts.network import client_ip
from reports.request_log import request_log_buffer

logger = logging.getLogger(__name__)

UNMATCHED = "<unmatched>"


def _user_id(request) -> int | None:
    """The authenticated user's id, as the API view authenticated it. DRF puts the user it
    authenticated (token or session) on the request; a request no API view handled still
    holds the lazy session user, which is not looked up just for the log."""
    user = request.__dict__.get("user")
    if user is None or isinstance(user, SimpleLazyObject):
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    return user.pk


@lru_cache(maxsize=1024)  # one string per URL pattern, not a new one per logged request
def _route_label(route: str) -> str:
    return "/" + route.lstrip("^").rstrip("$")


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return UNMATCHED
    return _route_label(match.route)


class ApiRequestLogMiddleware:
    def __init__(self, get_response):
        if not settings.API_REQUEST_LOG_ENABLED:
            raise MiddlewareNotUsed("API_REQUEST_LOG_ENABLED is off")
        self.get_response = get_response
        self.prefix = settings.API_REQUEST_LOG_PREFIX
        self.buffer = request_log_buffer()

    def __call__(self, request):
        if not request.path_info.startswith(self.prefix):
            return self.get_response(request)
        # A compact row: integer clocks, shared strings; the writer converts.
        # A buffered row's objects live until its batch is written, so few and small
        # ones are cheaper for the whole process, not only for this request.
        timestamp = time_ns()
        started = perf_counter_ns()
        response = self.get_response(request)
        duration = perf_counter_ns() - started
        try:
            row = (timestamp, request.method or "", _route(request), response.status_code,
                   _user_id(request), client_ip(request), duration)
            self.buffer.add(row)
        except Exception:
            logger.exception("could not log API request %s %s", request.method, request.path)
        return response
