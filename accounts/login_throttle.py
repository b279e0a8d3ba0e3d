"""Login attempts counted atomically in Redis, so that an attacker cannot lock an owner out.

Both the admin login and the API login go through `login_attempt` (before the password is
checked) and `login_succeeded` (after a good one), so switching between them gains nothing.

- Per client address (`login`): every attempt counts. An attempt refused here counts
  against nothing else.
- Per client and username (`login_username`): the client's failures for that name; over
  the limit the client is refused for that name only.
- Per username across clients (`login_failures`): beyond that many failures in the window,
  each further failure makes the client that failed wait `THROTTLE_LOGIN_DELAY` seconds,
  doubling per failure up to `THROTTLE_LOGIN_DELAY_MAX`. A client with no recent failure for
  the name is never delayed, so the owner can log in while someone else hammers the name.

An allowed attempt is counted as a failure at once (one Lua script checks and counts, so
concurrent attempts cannot slip past a limit); a successful login takes it back and clears
that client's counters for the name. Rates use DRF's syntax ("10/minute") and come from
REST_FRAMEWORK's DEFAULT_THROTTLE_RATES.
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

# KEYS: client, [pair failures, username failures, pair's wait].
# ARGV: client limit, client period, pair limit, pair period, free failures, failure period,
# first delay, longest delay. Returns {allowed (0/1), retry_after}.
_ATTEMPT = """
local function bump(key, period)
  local n = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if n == 1 or ttl < 0 then
    redis.call('EXPIRE', key, period)
    ttl = tonumber(period)
  end
  return n, ttl
end
local n, ttl = bump(KEYS[1], ARGV[2])
if n > tonumber(ARGV[1]) then return {0, ttl} end
if #KEYS == 1 then return {1, 0} end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then
  return {0, redis.call('TTL', KEYS[2])}
end
local wait = redis.call('TTL', KEYS[4])
if wait > 0 then return {0, wait} end
bump(KEYS[2], ARGV[4])
local failures = bump(KEYS[3], ARGV[6])
local over = failures - tonumber(ARGV[5])
if over > 0 then
  local delay = tonumber(ARGV[7]) * 2 ^ math.min(over - 1, 30)
  redis.call('SET', KEYS[4], 1, 'EX', math.floor(math.min(delay, tonumber(ARGV[8]))))
end
return {1, 0}
"""
# KEYS: pair failures, username failures, pair's wait.
_SUCCESS = """
redis.call('DEL', KEYS[1], KEYS[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1
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


def _username_ident(username: str) -> str:
    # Case and compatibility forms name one account, so they share one counter.
    folded = unicodedata.normalize("NFKC", username or "").casefold().strip()
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _keys(client: str | None, username: str) -> list[str]:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "backoffice")
    client = client or "unknown"
    keys = [f"{prefix}:login:client:{client}"]
    if username:
        name = _username_ident(username)
        keys += [f"{prefix}:login:pair:{client}:{name}", f"{prefix}:login:username:{name}",
                 f"{prefix}:login:wait:{client}:{name}"]
    return keys


def login_attempt(*, client: str | None, username: str) -> Verdict:
    """Check and count one login attempt, before its password is checked.

    When Redis is unreachable the attempt is allowed and a warning logged (as the other
    throttles do), so staff can still log in to see what is wrong.
    """
    rates = api_settings.DEFAULT_THROTTLE_RATES
    keys = _keys(client, username)
    args = list(parse_rate(rates["login"]))
    if len(keys) > 1:
        args += [*parse_rate(rates["login_username"]), *parse_rate(rates["login_failures"]),
                 settings.THROTTLE_LOGIN_DELAY, settings.THROTTLE_LOGIN_DELAY_MAX]
    try:
        allowed, retry_after = redis_client().register_script(_ATTEMPT)(keys=keys, args=args)
    except (RedisError, OSError):
        logger.warning("login throttle unreachable; allowing the attempt", exc_info=True)
        return Verdict(allowed=True)
    if allowed:
        return Verdict(allowed=True)
    return Verdict(allowed=False, retry_after=max(1, int(retry_after)))


def login_succeeded(*, client: str | None, username: str) -> None:
    """Take back the failure counted for a login whose password was right."""
    keys = _keys(client, username)
    if len(keys) == 1:
        return
    try:
        redis_client().register_script(_SUCCESS)(keys=keys[1:])
    except (RedisError, OSError):
        logger.warning("login throttle unreachable; success not recorded", exc_info=True)


class LoginThrottled(Exception):
    """A password check refused by the login policy before it ran."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.message)
        self.verdict = verdict
