"""Settings shared by every environment. Every value has a default that works with nothing set."""

from __future__ import annotations

from django.utils.csp import CSP
from kombu import Exchange, Queue

from backoffice.settings.config import BASE_DIR, database_config, env, fail, redis_url

VAR_DIR = BASE_DIR / "var"  # local state of the embedded run (SQLite, logs); not in git
VAR_DIR.mkdir(exist_ok=True)

ENVIRONMENT_NAME = env.str("ENVIRONMENT_NAME", default="development")
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY", default="dev-insecure-secret-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "backoffice.apps.ScheduleAppConfig",  # django_celery_beat, named as in the sidebar
    "backoffice.apps.TaskResultAppConfig",  # django_celery_results, likewise
    # Project apps come after the third-party apps whose admins they re-register.
    "backoffice",  # wiring: the registry of default schedules (no models)
    "accounts",
    "notifications",
    "reports",
    "operations",
    "maintenance",
]

MIDDLEWARE = [
    # Before SecurityMiddleware: X-Forwarded-Proto only counts from TRUSTED_PROXIES.
    "backoffice.middleware.TrustedProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Sends SECURE_CSP (set in production settings; empty here means no header).
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The Content-Security-Policy that production sends (prod.py sets SECURE_CSP to it; set
# CSP_ENABLED=true to send it here too). Unfold's Alpine.js compiles its directives with
# Function(), hence 'unsafe-eval'; its templates carry style="" attributes, hence
# 'unsafe-inline' for styles only. Inline <script> needs the nonce: {{ csp_nonce }}.
CONTENT_SECURITY_POLICY = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE, CSP.UNSAFE_EVAL],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CSP = CONTENT_SECURITY_POLICY if env.bool("CSP_ENABLED", default=False) else {}

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

DATABASES = {
    "default": database_config("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

# Backups are private: never under STATIC_ROOT or MEDIA_ROOT, never served by a URL.
BACKUP_DIR = env.path("BACKUP_DIR", default=str(VAR_DIR / "backups"))
for _public_root in (STATIC_ROOT, MEDIA_ROOT):
    if str(BACKUP_DIR).startswith(str(_public_root)):
        fail("BACKUP_DIR", f"must not be inside a public directory ({_public_root})")

# --- Maintenance: backups, cleanup, one-click actions -------------------------------------
BACKUP_KEEP_LAST = env.int("BACKUP_KEEP_LAST", default=7)  # newest successful backups kept
BACKUP_KEEP_DAYS = env.int("BACKUP_KEEP_DAYS", default=14)  # and every backup younger than this
BACKUP_INCLUDE_API_LOG = env.bool("BACKUP_INCLUDE_API_LOG", default=False)
BACKUP_CHUNK_SIZE = env.int("BACKUP_CHUNK_SIZE", default=5000)
BACKUP_COMPRESS_LEVEL = env.int("BACKUP_COMPRESS_LEVEL", default=3)
# Every backup is signed (HMAC-SHA256) with this key and a restore refuses a file whose
# signature does not verify. Empty: a key derived from SECRET_KEY. Set it when SECRET_KEY
# may rotate but old backups must stay restorable.
BACKUP_HMAC_KEY = env.str("BACKUP_HMAC_KEY", default="")
# Optional encryption at rest (AES-256-GCM): 32 random bytes, URL-safe base64, e.g.
# python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"
BACKUP_ENCRYPTION_KEY = env.str("BACKUP_ENCRYPTION_KEY", default="")
if BACKUP_ENCRYPTION_KEY:
    import base64 as _base64
    import binascii as _binascii

    try:
        _key_bytes = len(_base64.urlsafe_b64decode(BACKUP_ENCRYPTION_KEY.encode()))
    except (_binascii.Error, ValueError):
        _key_bytes = 0
    if _key_bytes != 32:
        fail("BACKUP_ENCRYPTION_KEY", "must be 32 bytes in URL-safe base64")
LOG_RETENTION_DAYS = env.int("LOG_RETENTION_DAYS", default=30)  # ApiRequest rows
EMAIL_RETENTION_DAYS = env.int("EMAIL_RETENTION_DAYS", default=90)  # sent/failed emails
CLEANUP_BATCH_SIZE = env.int("CLEANUP_BATCH_SIZE", default=20000)  # ids per delete batch
# A one-click run with no result after this many seconds counts as lost (its lock frees).
MAINTENANCE_RUN_STALE_SECONDS = env.int("MAINTENANCE_RUN_STALE_SECONDS", default=2 * 3600)
# Who pressed what (MaintenanceRun rows) is kept this long by the nightly cleanup.
MAINTENANCE_RUN_RETENTION_DAYS = env.int("MAINTENANCE_RUN_RETENTION_DAYS", default=365)
for _name in ("BACKUP_KEEP_LAST", "BACKUP_KEEP_DAYS", "LOG_RETENTION_DAYS",
              "EMAIL_RETENTION_DAYS", "MAINTENANCE_RUN_RETENTION_DAYS"):
    if globals()[_name] < 0:
        fail(_name, "must not be negative")
if CLEANUP_BATCH_SIZE < 1 or BACKUP_CHUNK_SIZE < 1:
    fail("CLEANUP_BATCH_SIZE/BACKUP_CHUNK_SIZE", "must be positive")
if not 0 <= BACKUP_COMPRESS_LEVEL <= 9:
    fail("BACKUP_COMPRESS_LEVEL", "must be between 0 and 9")

# --- Email -------------------------------------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:port, smtp+tls://, smtp+ssl://, consolemail://) wins over
# the separate EMAIL_HOST/PORT/... variables when it is set.
if env.str("EMAIL_URL", default=""):
    try:
        globals().update(env.email_url("EMAIL_URL"))
    except (ValueError, KeyError) as exc:
        fail("EMAIL_URL", f"is malformed ({exc})")
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Backoffice <backoffice@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Redis, cache ------------------------------------------------------------------------
REDIS_URL = redis_url("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "backoffice",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }
}

# --- Celery ------------------------------------------------------------------------------
# Redis redelivers a message that was not acknowledged within the visibility timeout. Every
# task's hard time limit must stay well below it, or a long task runs twice (or four times).
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=900)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=840)
if CELERY_TASK_TIME_LIMIT >= CELERY_VISIBILITY_TIMEOUT:
    fail("CELERY_TASK_TIME_LIMIT", "must be shorter than CELERY_VISIBILITY_TIMEOUT")
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    fail("CELERY_TASK_SOFT_TIME_LIMIT", "must be shorter than CELERY_TASK_TIME_LIMIT")

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "health_check_interval": 25,
    # A worker polls its queues in the order of its --queues (round robin by default), so a
    # worker listing `email` first takes waiting transactional mail before anything else.
    "queue_order_strategy": "priority",
}
CELERY_RESULT_BACKEND = "django-db"
CELERY_CACHE_BACKEND = "django-cache"
CELERY_RESULT_EXTENDED = True
# The task history (TaskRun) records when each run starts; the result table keeps outcomes
# only, so a run costs one result write instead of two.
CELERY_TASK_TRACK_STARTED = False
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=7 * 24 * 3600)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection around every task unless this is
# set; with it, it closes them only every this-many tasks, and before each task
# backoffice.celery closes the ones that are broken or older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1000
# Celery's event stream (task-sent/received/started/succeeded) costs every task a few
# messages and only Flower or `celery events` read it: Flower turns it on by itself; for
# `celery events`, run `celery -A backoffice control enable_events` first, or set this.
TASK_EVENTS = env.bool("CELERY_TASK_EVENTS", default=False)
CELERY_WORKER_SEND_TASK_EVENTS = TASK_EVENTS
CELERY_TASK_SEND_SENT_EVENT = TASK_EVENTS
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

# In the order a worker on every queue takes them: transactional mail first, bulk mail last.
CELERY_QUEUE_NAMES = ("email", "default", "reports", "maintenance", "bulk")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in CELERY_QUEUE_NAMES
)
# Bulk notification work has its own queue so transactional mail (welcome, password reset,
# admin notices, test sends, the pending-email sweep) never waits behind its batches.
BULK_EMAIL_TASKS = (
    "notifications.tasks.send_bulk_notifications",
    "notifications.tasks.send_notification_batch",
    "notifications.tasks.finalize_notification",
    "notifications.tasks.retry_failed_deliveries",
)
CELERY_TASK_ROUTES = {
    **{name: {"queue": "bulk", "routing_key": "bulk"} for name in BULK_EMAIL_TASKS},
    "notifications.tasks.*": {"queue": "email", "routing_key": "email"},
    "accounts.tasks.*": {"queue": "email", "routing_key": "email"},  # password-reset lookups
    "reports.tasks.*": {"queue": "reports", "routing_key": "reports"},
    "maintenance.tasks.*": {"queue": "maintenance", "routing_key": "maintenance"},
    "operations.tasks.*": {"queue": "maintenance", "routing_key": "maintenance"},
}
CELERY_BEAT_SCHEDULER = "operations.beat:HeartbeatDatabaseScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 15
# Beat is healthy when its heartbeat (written every loop) is younger than this.
BEAT_HEARTBEAT_MAX_AGE = env.int("BEAT_HEARTBEAT_MAX_AGE", default=90)
HEALTH_WORKER_PING_TIMEOUT = env.float("HEALTH_WORKER_PING_TIMEOUT", default=1.0)
# /healthz builds its report at most once per this many seconds per process; the worker
# ping runs in a background thread at most as often.
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=5.0)
DJANGO_CELERY_BEAT_TZ_AWARE = True
# Operations console: alert when a queue's oldest task has waited longer than this;
# /metrics answers these client addresses (CIDR allowed) without a staff token.
OPS_QUEUE_WAIT_ALERT_SECONDS = env.int("OPS_QUEUE_WAIT_ALERT_SECONDS", default=300)
OPS_METRICS_ALLOWED_IPS = env.list("OPS_METRICS_ALLOWED_IPS", default=[])
# operations.tasks.prune_task_history keeps this many days of finished task runs.
OPS_TASK_HISTORY_DAYS = env.int("OPS_TASK_HISTORY_DAYS", default=30)
# Each worker process folds its finished runs into the per-minute counters this often
# (0 = every run writes its own count at once); at most this many runs wait meanwhile.
TASK_STATS_FLUSH_SECONDS = env.float("TASK_STATS_FLUSH_SECONDS", default=2.0)
TASK_STATS_MAX_BUFFER = env.int("TASK_STATS_MAX_BUFFER", default=100_000)

# --- Admin (Unfold) ----------------------------------------------------------------------
from backoffice.unfold_config import UNFOLD  # noqa: E402,F401

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Accounts and API ----------------------------------------------------------------------
import ipaddress  # noqa: E402
import re  # noqa: E402

INSTALLED_APPS.insert(INSTALLED_APPS.index("drf_spectacular") + 1, "drf_spectacular_sidecar")
# First after SecurityMiddleware, so the logged duration covers the whole stack.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "reports.middleware.ApiRequestLogMiddleware")

# Proxies (IPs or CIDRs) whose X-Forwarded-For is believed; nobody's by default.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        fail("TRUSTED_PROXIES", f"has an entry that is not an IP address or network: {_proxy!r}")
API_REQUEST_LOG_ENABLED = env.bool("API_REQUEST_LOG_ENABLED", default=True)
API_REQUEST_LOG_PREFIX = "/api/"
# Rows are written in batches by a background thread this often (0 = in the request itself).
API_REQUEST_LOG_FLUSH_SECONDS = env.float("API_REQUEST_LOG_FLUSH_SECONDS", default=1.0)
# Rows kept per process while the database refuses writes; beyond it the oldest are dropped
# (and the drop is logged as an error).
API_REQUEST_LOG_MAX_BUFFER = env.int("API_REQUEST_LOG_MAX_BUFFER", default=50_000)

# JSON bodies nested deeper than this answer 400 (the parser recurses once per level).
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)
if not 1 <= API_JSON_MAX_DEPTH <= 500:
    fail("API_JSON_MAX_DEPTH", "must be between 1 and 500")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "backoffice.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "register": env.str("THROTTLE_REGISTER", default="20/hour"),
        # Admin and API login share these: per client address, and per username.
        "login": env.str("THROTTLE_LOGIN", default="10/minute"),
        "login_username": env.str("THROTTLE_LOGIN_USERNAME", default="5/minute"),
        "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="5/hour"),
        "password_reset_confirm": env.str("THROTTLE_PASSWORD_RESET_CONFIRM", default="10/hour"),
    },
}
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    if not re.fullmatch(r"\d+/(s|m|h|d)[a-z]*", _rate):
        fail(f"THROTTLE_{_scope.upper()}", f"must look like 10/minute, got {_rate!r}")
SPECTACULAR_SETTINGS = {
    "TITLE": "Backoffice API",
    "DESCRIPTION": "Accounts (registration, token login, profile, password reset) and demo "
    "endpoints. Send `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Public base URL of this site, for links in email that must work from any mail client
# (the password-reset link, the one-click unsubscribe link of bulk mail).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    fail("SITE_URL", "must start with http:// or https://")
# Where the password-reset email points ({uid} and {token} are filled in): by default the
# site's own reset page.
PASSWORD_RESET_LINK = env.str(
    "PASSWORD_RESET_LINK", default=SITE_URL + "/account/reset/?uid={uid}&token={token}")
if "{uid}" not in PASSWORD_RESET_LINK or "{token}" not in PASSWORD_RESET_LINK:
    fail("PASSWORD_RESET_LINK", "must contain {uid} and {token}")
SITE_NAME = env.str("SITE_NAME", default="Backoffice")
# Address in the mailto: part of List-Unsubscribe; empty: unsubscribe@<DEFAULT_FROM_EMAIL's domain>.
UNSUBSCRIBE_MAILTO = env.str("UNSUBSCRIBE_MAILTO", default="")
# Module with preferences_read(user=) / preferences_update(user=, preferences=) behind the
# `preferences` of /api/profile/ (named here so accounts does not import notifications).
PROFILE_PREFERENCES_MODULE = "notifications.preferences"
# DKIM signing of every outgoing message, when all three are set. The key is PEM text
# (newlines may be written as \n) or the path of a PEM file.
DKIM_PRIVATE_KEY = env.str("DKIM_PRIVATE_KEY", default="")
DKIM_SELECTOR = env.str("DKIM_SELECTOR", default="")
DKIM_DOMAIN = env.str("DKIM_DOMAIN", default="")

# Transactional email (welcome, password reset): bounded retries, exponential backoff + jitter.
EMAIL_RETRY_MAX_ATTEMPTS = env.int("EMAIL_RETRY_MAX_ATTEMPTS", default=5)
EMAIL_RETRY_BACKOFF_SECONDS = env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=10.0)
EMAIL_RETRY_BACKOFF_MAX_SECONDS = env.float("EMAIL_RETRY_BACKOFF_MAX_SECONDS", default=600.0)
if EMAIL_RETRY_MAX_ATTEMPTS < 1:
    fail("EMAIL_RETRY_MAX_ATTEMPTS", "must be at least 1")
if EMAIL_RETRY_BACKOFF_MAX_SECONDS >= CELERY_VISIBILITY_TIMEOUT:
    fail("EMAIL_RETRY_BACKOFF_MAX_SECONDS", "must be shorter than CELERY_VISIBILITY_TIMEOUT")
# Bulk notifications: recipients per batch task, and a per-minute cap shared by all workers
# (0 = no cap) so a provider's sending limits are respected.
NOTIFICATION_BATCH_SIZE = env.int("NOTIFICATION_BATCH_SIZE", default=250)
EMAIL_RATE_LIMIT_PER_MINUTE = env.int("EMAIL_RATE_LIMIT_PER_MINUTE", default=0)
if NOTIFICATION_BATCH_SIZE < 1:
    fail("NOTIFICATION_BATCH_SIZE", "must be at least 1")
# -- Bulk notification claims and the stall sweep --
# A batch holds its rows for this long and renews the hold every third of it while it sends,
# so the lease must outlast one recipient's SMTP exchange (a few EMAIL_TIMEOUTs). A batch
# whose worker died frees its rows when the lease ends; the sweep then re-issues them.
NOTIFICATION_CLAIM_LEASE_SECONDS = env.int("NOTIFICATION_CLAIM_LEASE_SECONDS", default=60)
# A sending notification with open rows and no live lease for this long counts as stalled.
NOTIFICATION_STALL_GRACE_SECONDS = env.int("NOTIFICATION_STALL_GRACE_SECONDS", default=30)
if NOTIFICATION_CLAIM_LEASE_SECONDS < 3 * EMAIL_TIMEOUT + 5:
    fail("NOTIFICATION_CLAIM_LEASE_SECONDS", "must be at least 3 × EMAIL_TIMEOUT + 5 seconds")
if NOTIFICATION_STALL_GRACE_SECONDS < 0:
    fail("NOTIFICATION_STALL_GRACE_SECONDS", "must not be negative")
# A queued or in-flight email untouched for this long is re-enqueued by the sweep.
EMAIL_STALE_SECONDS = env.int("EMAIL_STALE_SECONDS", default=CELERY_VISIBILITY_TIMEOUT + 300)
