"""Django core: paths, apps, middleware, templates, auth, i18n, static files, logging, admin."""

from __future__ import annotations

from pathlib import Path

from backoffice.settings.config import BASE_DIR, env, fail
from backoffice.unfold_config import UNFOLD  # noqa: F401

# Local state of this host (SQLite, logs, backups); not in git. Each host has its own.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

ENVIRONMENT_NAME = env.str("ENVIRONMENT_NAME", default="development")
DEBUG = env.bool("DEBUG", default=False)

INSTALLED_APPS = [
    # Unfold without its own site: backoffice.admin_site's site (Unfold's, plus the rule that
    # read-only roles press nothing) becomes `admin.site`.
    "unfold.apps.BasicAppConfig",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "backoffice.admin_site.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # intcomma: counts grouped as the locale groups them
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "backoffice.apps.ScheduleAppConfig",  # django_celery_beat, named as in the sidebar
    "backoffice.apps.TaskResultAppConfig",  # django_celery_results, likewise
    # Project apps come after the third-party apps whose admins they re-register.
    "backoffice",  # wiring: default schedules, the sidebar, the API docs (no models)
    "accounts",
    "notifications",
    "reports",
    "operations",
    "maintenance",
    "devmail",  # the development mail catcher (off unless MAIL_CATCHER)
]

MIDDLEWARE = [
    # Before SecurityMiddleware: X-Forwarded-Proto only counts from TRUSTED_PROXIES.
    "backoffice.middleware.TrustedProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # First after SecurityMiddleware, so the logged duration covers the whole stack.
    "reports.middleware.ApiRequestLogMiddleware",
    # Sends SECURE_CSP (see security.py; empty means no header).
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",  # {{ csp_nonce }} for inline code
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/admin/"  # Unfold's login page drops `next`.

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"

# Public base URL of this site, for links in email that must work from any mail client
# (the password-reset link, the one-click unsubscribe link of bulk mail). By default the
# address `make run` serves on: WEB_HOST (a wildcard address counts as 127.0.0.1) and
# WEB_PORT.
_web_host = env.str("WEB_HOST", default="127.0.0.1")
_web_host = "127.0.0.1" if _web_host in {"0.0.0.0", "::", ""} else _web_host
try:
    _web_port = env.int("WEB_PORT", default=8000)
except ValueError:
    fail("WEB_PORT", "must be a port number")
SITE_URL = env.str("SITE_URL", default=f"http://{_web_host}:{_web_port}").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    fail("SITE_URL", "must start with http:// or https://")
SITE_NAME = env.str("SITE_NAME", default="Backoffice")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"expected_forbidden": {
        "()": "backoffice.logging_filters.ExpectedForbiddenFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"},
                "django.request": {"filters": ["expected_forbidden"]}},
}
