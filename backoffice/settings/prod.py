"""Production: secrets and hosts come from the environment; HTTPS everywhere."""

from backoffice.settings.base import *  # noqa: F403
from backoffice.settings.base import CONTENT_SECURITY_POLICY
from backoffice.settings.config import env, fail, required

DEBUG = False
MAIL_CATCHER = False  # mail goes to the configured SMTP server, never to a catcher
DIAGNOSTIC_TASKS = False  # product tasks only: nothing that fails or sleeps on purpose
ENVIRONMENT_NAME = env.str("ENVIRONMENT_NAME", default="production")
SECRET_KEY = required("SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-insecure"):
    fail("SECRET_KEY", "must be a random string of 50+ characters")

STORAGES = {
    **STORAGES,  # noqa: F405 - "default" and "backups" as base.py has them
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Believed only from TRUSTED_PROXIES: TrustedProxyHeadersMiddleware drops it otherwise.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = CONTENT_SECURITY_POLICY
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$", r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
