"""DRF throttles on the Redis cache that read their rate at request time and fail open."""

import logging

from django.core.exceptions import ImproperlyConfigured
from redis import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from accounts.network import client_ip

logger = logging.getLogger(__name__)


class ScopedCacheThrottle(ScopedRateThrottle):
    """`throttle_scope` on the view picks the rate from REST_FRAMEWORK's DEFAULT_THROTTLE_RATES.

    - The rate is read on each request (not frozen at import), so settings changes apply.
    - The client is identified by `client_ip`, which ignores a spoofed X-Forwarded-For.
    - When the cache (Redis) is unreachable the request is allowed and a warning logged:
      registration must keep working while Redis is down (the welcome email waits).
    """

    def get_rate(self):
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError):
            logger.warning("throttle cache unreachable; allowing %s", request.path, exc_info=True)
            return True
