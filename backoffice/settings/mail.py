"""Email: the SMTP server (EMAIL_URL, or one variable per setting), sender, DKIM, retries.

With EMAIL_URL set (smtp://user:pass@host:port, smtp+tls://, smtp+ssl://, consolemail://,
...), the backend, host, port, credentials and TLS/SSL flags come from it alone; otherwise
each comes from its own variable.
"""

from __future__ import annotations

import os

import environ
from django.core.exceptions import ImproperlyConfigured

from backoffice.settings.celery_config import CELERY_VISIBILITY_TIMEOUT
from backoffice.settings.config import env, fail

_smtp_backend = "django.core.mail.backends.smtp.EmailBackend"


def email_url_config() -> dict | None:
    """The settings EMAIL_URL spells out, or None when it is not set."""
    url = env.str("EMAIL_URL", default="")
    if not url:
        return None
    try:
        return environ.Env.email_url_config(url)
    except (ValueError, KeyError, ImproperlyConfigured) as exc:
        fail("EMAIL_URL", f"is malformed ({exc})")


_from_url = email_url_config()
if _from_url is not None:
    EMAIL_BACKEND = _from_url["EMAIL_BACKEND"]
    EMAIL_HOST = _from_url["EMAIL_HOST"]
    EMAIL_PORT = _from_url["EMAIL_PORT"]
    EMAIL_HOST_USER = _from_url["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _from_url["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = bool(_from_url.get("EMAIL_USE_TLS", False))
    EMAIL_USE_SSL = bool(_from_url.get("EMAIL_USE_SSL", False))
    EMAIL_FILE_PATH = _from_url["EMAIL_FILE_PATH"]  # filemail:///path
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=_smtp_backend)
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = False
    EMAIL_FILE_PATH = ""
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# The development mail catcher (the devmail app): an SMTP server on a local port that
# `make run` starts and that keeps what it receives, for superusers to read under
# *Email → Caught mail*. Off here; the development settings turn it on when no SMTP server
# is configured; the production settings keep it off.
MAIL_CATCHER = False
MAIL_CATCHER_HOST = env.str("MAIL_CATCHER_HOST", default="127.0.0.1")
MAIL_CATCHER_PORT = env.int("MAIL_CATCHER_PORT", default=1025)
MAIL_CATCHER_KEEP = env.int("MAIL_CATCHER_KEEP", default=500)
if MAIL_CATCHER_KEEP < 1:
    fail("MAIL_CATCHER_KEEP", "must be at least 1")


def smtp_server_configured() -> bool:
    """Whether the environment names an SMTP server (or another email backend)."""
    return any(name in os.environ for name in ("EMAIL_URL", "EMAIL_HOST", "EMAIL_BACKEND"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Backoffice <backoffice@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# DKIM signing of every outgoing message, when all three are set. The key is PEM text
# (newlines may be written as \n) or the path of a PEM file.
DKIM_PRIVATE_KEY = env.str("DKIM_PRIVATE_KEY", default="")
DKIM_SELECTOR = env.str("DKIM_SELECTOR", default="")
DKIM_DOMAIN = env.str("DKIM_DOMAIN", default="")

# Every email: bounded retries of 4xx replies and dropped connections, exponential backoff
# with jitter; a 5xx reply fails that email at once.
EMAIL_RETRY_MAX_ATTEMPTS = env.int("EMAIL_RETRY_MAX_ATTEMPTS", default=5)
EMAIL_RETRY_BACKOFF_SECONDS = env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=10.0)
EMAIL_RETRY_BACKOFF_MAX_SECONDS = env.float("EMAIL_RETRY_BACKOFF_MAX_SECONDS", default=600.0)
if EMAIL_RETRY_MAX_ATTEMPTS < 1:
    fail("EMAIL_RETRY_MAX_ATTEMPTS", "must be at least 1")
if EMAIL_RETRY_BACKOFF_MAX_SECONDS >= CELERY_VISIBILITY_TIMEOUT:
    fail("EMAIL_RETRY_BACKOFF_MAX_SECONDS", "must be shorter than CELERY_VISIBILITY_TIMEOUT")
