"""Benchmarks (`python -m bench NAME`): their own SQLite file and Redis database.

Set DATABASE_URL to benchmark on PostgreSQL instead (the benchmark removes its rows after).
"""

from backoffice.settings.base import *  # noqa: F403
from backoffice.settings.base import VAR_DIR
from backoffice.settings.broker import redis_settings
from backoffice.settings.config import database_config, redis_url

DEBUG = False
DIAGNOSTIC_TASKS = True  # the round-trip and console benchmarks send them
ENVIRONMENT_NAME = "bench"
DATABASES = {
    "default": database_config("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bench.sqlite3'}"),
}
REDIS_URL = redis_url("BENCH_REDIS_URL", default="redis://127.0.0.1:6379/10")
CELERY_BROKER_URL, CACHES = redis_settings(REDIS_URL, key_prefix="backoffice-bench")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]  # page timings use Django's test client
