"""Login attempts counted per client and per username, atomically in Redis.

Both the admin login and the API login go through `login_attempt`, so an attacker cannot
double the allowance by switching between them. Each attempt is counted *before* the
password is checked, by one Lua script that increments both counters and returns them:
concurrent attempts each see their own count, so no more than the limit ever get through.

Rates use DRF's syntax ("10/minute") and come from REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES: `login` per client address, `login_username` per username.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from redis import RedisError
from rest_framework.settings import api_settings

from backoffice.redis_client import redis_client

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MESSAGE = "Too many login attempts. Try again in {seconds} seconds."

# KEYS: counters; ARGV: their window lengths. Returns [count, ttl] per key.
_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if n == 1 or ttl < 0 then
    redis.call('EXPIRE', key, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0

    @property
    def message(self) -> str:
        return MESSAGE.format(seconds=self.retry_after)


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/minute' -> (10, 60); the unit is read from its first letter, as DRF does."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[0].lower()]


def _rates() -> dict[str, str]:
    return api_settings.DEFAULT_THROTTLE_RATES


def _username_ident(username: str) -> str:
    # Case and compatibility forms name one account, so they share one counter.
    folded = unicodedata.normalize("NFKC", username or "").casefold().strip()
    return hashlib.sha256(folded.encode()).hexdigest()[:32]


def login_attempt(*, client: str | None, username: str) -> Verdict:
    """Count one login attempt; refused when either counter is over its limit.

    When Redis is unreachable the attempt is allowed and a warning logged (as the other
    throttles do), so staff can still log in to see what is wrong.
    """
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "backoffice")
    rates = _rates()
    checks = [(f"{prefix}:login:client:{client or 'unknown'}", parse_rate(rates["login"]))]
    if username and rates.get("login_username"):
        checks.append((f"{prefix}:login:username:{_username_ident(username)}",
                       parse_rate(rates["login_username"])))
    try:
        script = redis_client().register_script(_SCRIPT)
        result = script(keys=[key for key, _ in checks],
                        args=[period for _, (_, period) in checks])
    except (RedisError, OSError):
        logger.warning("login throttle unreachable; allowing the attempt", exc_info=True)
        return Verdict(allowed=True)
    waits = [int(result[2 * i + 1]) for i, (_, (limit, _)) in enumerate(checks)
             if int(result[2 * i]) > limit]
    if waits:
        return Verdict(allowed=False, retry_after=max(1, max(waits)))
    return Verdict(allowed=True)
