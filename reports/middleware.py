"""Log every /api/ request to ApiRequest: route pattern, method, status, user, IP, duration.

Logging never breaks a request: a failure to write is logged and the response goes out.
"""

import logging
import time

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, empty

from accounts.network import client_ip
from reports.services import api_request_record

logger = logging.getLogger(__name__)

UNMATCHED = "<unmatched>"


def _user_id(request) -> int | None:
    """The authenticated user's id without forcing a lazy session lookup nobody needed."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return UNMATCHED
    return "/" + match.route.lstrip("^").rstrip("$")


class ApiRequestLogMiddleware:
    def __init__(self, get_response):
        if not settings.API_REQUEST_LOG_ENABLED:
            raise MiddlewareNotUsed("API_REQUEST_LOG_ENABLED is off")
        self.get_response = get_response
        self.prefix = settings.API_REQUEST_LOG_PREFIX

    def __call__(self, request):
        if not request.path_info.startswith(self.prefix):
            return self.get_response(request)
        started = time.perf_counter()
        timestamp = timezone.now()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        try:
            api_request_record(
                timestamp=timestamp, method=request.method or "", route=_route(request),
                status_code=response.status_code, user_id=_user_id(request),
                ip=client_ip(request), duration_ms=round(duration_ms, 3),
            )
        except Exception:
            logger.exception("could not log API request %s %s", request.method, request.path)
        return response
