"""Maintenance: backups (what, where, how long kept), cleanup retention, one-click runs."""

from __future__ import annotations

import base64
import binascii
import re

from backoffice.settings.config import env, fail
from backoffice.settings.core import MEDIA_ROOT, STATIC_ROOT, VAR_DIR

# Backups are private: never under STATIC_ROOT or MEDIA_ROOT, never served by a URL.
BACKUP_DIR = env.path("BACKUP_DIR", default=str(VAR_DIR / "backups"))
for _public_root in (STATIC_ROOT, MEDIA_ROOT):
    if str(BACKUP_DIR).startswith(str(_public_root)):
        fail("BACKUP_DIR", f"must not be inside a public directory ({_public_root})")

# Where backups are stored: the `backups` entry of STORAGES. By default BACKUP_DIR itself;
# with BACKUP_S3_BUCKET set, an S3-compatible bucket (AWS, MinIO, SeaweedFS, ...) that every
# host reaches, and BACKUP_DIR only holds a backup while it is written, before the upload.
BACKUP_S3_BUCKET = env.str("BACKUP_S3_BUCKET", default="")
if BACKUP_S3_BUCKET:
    BACKUP_STORAGE = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": BACKUP_S3_BUCKET,
        "endpoint_url": env.str("BACKUP_S3_ENDPOINT_URL", default="") or None,
        "access_key": env.str("BACKUP_S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("BACKUP_S3_SECRET_ACCESS_KEY", default="") or None,
        "region_name": env.str("BACKUP_S3_REGION", default="") or None,
        "location": env.str("BACKUP_S3_PREFIX", default="backups").strip("/"),
        "addressing_style": env.str("BACKUP_S3_ADDRESSING_STYLE", default="path"),
        "signature_version": "s3v4",
        "default_acl": None,  # the bucket's own policy: private unless someone opened it
        "querystring_auth": True,
        "file_overwrite": False,  # never replace a stored backup
        "max_memory_size": 1 << 20,  # a read spills to disk past 1 MiB
    }}
    if BACKUP_STORAGE["OPTIONS"]["addressing_style"] not in ("path", "virtual", "auto"):
        fail("BACKUP_S3_ADDRESSING_STYLE", "must be path, virtual or auto")
    _endpoint = BACKUP_STORAGE["OPTIONS"]["endpoint_url"]
    if _endpoint and not re.fullmatch(r"https?://[^/\s]+/?", _endpoint):
        fail("BACKUP_S3_ENDPOINT_URL", "must be http(s)://host[:port]")
else:
    BACKUP_STORAGE = {"BACKEND": "maintenance.backup_storage.LocalBackupStorage"}

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
    try:
        _key_bytes = len(base64.urlsafe_b64decode(BACKUP_ENCRYPTION_KEY.encode()))
    except (binascii.Error, ValueError):
        _key_bytes = 0
    if _key_bytes != 32:
        fail("BACKUP_ENCRYPTION_KEY", "must be 32 bytes in URL-safe base64")

# The tables a backup holds, parents before children: a restore inserts in this order and
# deletes in reverse. The API request log (reports.ApiRequest) is added when
# BACKUP_INCLUDE_API_LOG is set. The maintenance.E001 check refuses a label that names no
# installed model.
BACKUP_MODELS = [
    "auth.Group",
    "auth.Group_permissions",
    "accounts.User",
    "accounts.User_groups",
    "accounts.User_user_permissions",
    "authtoken.Token",
    "notifications.Notification",
    "notifications.OutgoingEmail",
    "notifications.Subscription",
    "notifications.Suppression",
    "reports.DailyReport",
    "reports.WeeklyAnalytics",
    "django_celery_beat.IntervalSchedule",
    "django_celery_beat.CrontabSchedule",
    "django_celery_beat.SolarSchedule",
    "django_celery_beat.ClockedSchedule",
    "django_celery_beat.PeriodicTask",
]

# Diagnostic tasks (echo, fail, flaky, sleep, ...: maintenance/diagnostics.py) in the task
# registry: on for development, tests and benchmarks; the production settings keep them out.
DIAGNOSTIC_TASKS = env.bool("DIAGNOSTIC_TASKS", default=False)
LOG_RETENTION_DAYS = env.int("LOG_RETENTION_DAYS", default=30)  # ApiRequest rows
EMAIL_RETENTION_DAYS = env.int("EMAIL_RETENTION_DAYS", default=90)  # sent/failed emails
CLEANUP_BATCH_SIZE = env.int("CLEANUP_BATCH_SIZE", default=20000)  # ids per delete batch
# A one-click run with no result after this many seconds counts as lost (its lock frees).
MAINTENANCE_RUN_STALE_SECONDS = env.int("MAINTENANCE_RUN_STALE_SECONDS", default=2 * 3600)
# Who pressed what (MaintenanceRun rows) is kept this long by the nightly cleanup.
MAINTENANCE_RUN_RETENTION_DAYS = env.int("MAINTENANCE_RUN_RETENTION_DAYS", default=365)
for _name, _value in (("BACKUP_KEEP_LAST", BACKUP_KEEP_LAST),
                      ("BACKUP_KEEP_DAYS", BACKUP_KEEP_DAYS),
                      ("LOG_RETENTION_DAYS", LOG_RETENTION_DAYS),
                      ("EMAIL_RETENTION_DAYS", EMAIL_RETENTION_DAYS),
                      ("MAINTENANCE_RUN_RETENTION_DAYS", MAINTENANCE_RUN_RETENTION_DAYS)):
    if _value < 0:
        fail(_name, "must not be negative")
if CLEANUP_BATCH_SIZE < 1 or BACKUP_CHUNK_SIZE < 1:
    fail("CLEANUP_BATCH_SIZE/BACKUP_CHUNK_SIZE", "must be positive")
if not 0 <= BACKUP_COMPRESS_LEVEL <= 9:
    fail("BACKUP_COMPRESS_LEVEL", "must be between 0 and 9")

# What the nightly cleanup deletes, table by table: rows of `model` whose `date_field` is
# older than the retention held by the setting named in `keep_days`, only those whose
# status is in `statuses` when given; rows of `children` (model label → its foreign key to
# `model`) go first. The maintenance.E002 check refuses an entry that does not fit the
# installed models. Task runs and their results have one retention rule of their own
# (operations.tasks.prune_task_history, OPS_TASK_HISTORY_DAYS).
CLEANUP_TARGETS = [
    {"model": "reports.ApiRequest", "date_field": "timestamp",
     "keep_days": "LOG_RETENTION_DAYS"},
    # Its per-minute counters (what the dashboard's "today" reads).
    {"model": "reports.RequestMinute", "date_field": "minute",
     "keep_days": "LOG_RETENTION_DAYS"},
    # Outgoing email in a final state, every kind (its attempt log is on the row).
    {"model": "notifications.OutgoingEmail", "date_field": "updated_at",
     "keep_days": "EMAIL_RETENTION_DAYS", "statuses": ["sent", "failed", "skipped"]},
    # Who pressed which maintenance button: an audit record, kept long.
    {"model": "maintenance.MaintenanceRun", "date_field": "requested_at",
     "keep_days": "MAINTENANCE_RUN_RETENTION_DAYS"},
]
