"""The project's Redis client (shared with the other apps) and the keys maintenance owns."""

from backoffice.redis_client import redis_client

__all__ = ["BEAT_HEARTBEAT_KEY", "redis_client"]

BEAT_HEARTBEAT_KEY = "backoffice:beat:heartbeat"
