"""Tests: real Redis (its own database number), real SQLite file or PostgreSQL."""

from backoffice.settings.base import *  # noqa: F403
from backoffice.settings.base import CACHES, DATABASES, VAR_DIR
from backoffice.settings.config import env, redis_url

DEBUG = False
ENVIRONMENT_NAME = "test"
# A Redis database of its own so a test run never eats a running dev stack's queues.
REDIS_URL = redis_url("TEST_REDIS_URL", default="redis://127.0.0.1:6379/9")
CELERY_BROKER_URL = REDIS_URL
CACHES["default"]["LOCATION"] = REDIS_URL
CACHES["default"]["KEY_PREFIX"] = "backoffice-test"

# The worker is a real subprocess, so the SQLite test database must be a file it can open.
# TEST_DATABASE_NAME lets two checkouts run their suites side by side on one server.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _test_name = env.str("TEST_DATABASE_NAME", default=str(VAR_DIR / "test-db.sqlite3"))
    if "/" not in _test_name:  # a bare name (as for PostgreSQL) becomes a file under var/
        _test_name = str(VAR_DIR / f"{_test_name}.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": _test_name}
elif env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")

# Transactional email retries: short waits so retry tests finish quickly.
EMAIL_RETRY_MAX_ATTEMPTS = env.int("EMAIL_RETRY_MAX_ATTEMPTS", default=4)
EMAIL_RETRY_BACKOFF_SECONDS = env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=0.2)
EMAIL_RETRY_BACKOFF_MAX_SECONDS = env.float("EMAIL_RETRY_BACKOFF_MAX_SECONDS", default=1.0)
# The request log writes in the request, so a test sees its row at once.
API_REQUEST_LOG_FLUSH_SECONDS = env.float("API_REQUEST_LOG_FLUSH_SECONDS", default=0)
# Likewise the per-minute task counters: counted as each run finishes.
TASK_STATS_FLUSH_SECONDS = env.float("TASK_STATS_FLUSH_SECONDS", default=0)
# Browser journeys log in through the login page many times a minute from one address and
# as one user; the throttling tests set their own rates.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].update(  # noqa: F405
    login=env.str("THROTTLE_LOGIN", default="1000/minute"),
    login_username=env.str("THROTTLE_LOGIN_USERNAME", default="1000/minute"),
)
