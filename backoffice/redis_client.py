"""One Redis client per process for the project's own reads and writes (not Celery's)."""

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=1, socket_timeout=2, decode_responses=True
    )


def redis_client() -> redis.Redis:
    """Return a client for `settings.REDIS_URL` with short timeouts, so callers never hang."""
    return _client_for(settings.REDIS_URL)


def redis_status() -> dict:
    """Ping the project's Redis (short timeouts, never hangs): {"ok"} or {"ok": False, "error"}."""
    try:
        redis_client().ping()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}
