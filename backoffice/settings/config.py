"""Reading settings from the environment with one clear line on bad input.

django-environ parses the values; this module only turns its silent fallbacks and
tracebacks on malformed URLs into a `SystemExit` that names the variable, because a
stack trace through the settings import tells an operator nothing about which line of
their `.env` is wrong.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    env.read_env(str(_env_file), overwrite=False)

SUPPORTED_DB_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql", "psql"}
SUPPORTED_REDIS_SCHEMES = {"redis", "rediss", "unix"}


def fail(variable: str, problem: str) -> None:
    """Stop start-up with one line that names the offending variable."""
    raise SystemExit(f"backoffice: configuration error: {variable} {problem}")


def database_config(variable: str, default: str) -> dict:
    """Parse a database URL into Django's DATABASES entry, or stop with a clear line."""
    url = env.str(variable, default=default)
    scheme = urlsplit(url).scheme
    if scheme not in SUPPORTED_DB_SCHEMES:
        fail(variable, f"must be a sqlite:// or postgres:// URL, got {url!r}")
    try:
        config = environ.Env.db_url_config(url)
    except ValueError as exc:
        fail(variable, f"is malformed ({exc}): {url!r}")
    if not config.get("NAME"):
        fail(variable, f"has no database name: {url!r}")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # Without these a pool of workers writing at once hits "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_TIMEOUT", default=30),
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
            ),
        }
    # Web threads and worker processes keep their connection this long; a broken one is
    # found by the health check before use and replaced.
    config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    config["CONN_HEALTH_CHECKS"] = True
    return config


def redis_url(variable: str, default: str) -> str:
    """Return a validated Redis URL, or stop with a clear line."""
    url = env.str(variable, default=default)
    parts = urlsplit(url)
    if parts.scheme not in SUPPORTED_REDIS_SCHEMES:
        fail(variable, f"must be a redis:// URL, got {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError as exc:
        fail(variable, f"is malformed ({exc}): {url!r}")
    if parts.scheme != "unix" and not parts.hostname:
        fail(variable, f"has no host: {url!r}")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        fail(variable, f"database must be a number, got {db!r}: {url!r}")
    return url


def required(variable: str) -> str:
    value = env.str(variable, default="")
    if not value:
        fail(variable, "is required in production and is not set")
    return value
