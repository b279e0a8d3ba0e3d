"""Redis: Celery's broker and Django's cache, both at REDIS_URL."""

from __future__ import annotations

from backoffice.settings.config import redis_url


def redis_settings(url: str, *, key_prefix: str) -> tuple[str, dict]:
    """CELERY_BROKER_URL and CACHES for the Redis at `url`, cache keys under `key_prefix`."""
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    return url, caches


REDIS_URL = redis_url("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL, CACHES = redis_settings(REDIS_URL, key_prefix="backoffice")
