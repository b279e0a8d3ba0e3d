"""Celery: time limits, results, queues and routes, beat."""

from __future__ import annotations

from kombu import Exchange, Queue

from backoffice.settings.config import env, fail
from backoffice.settings.core import TIME_ZONE

# Redis redelivers a message that was not acknowledged within the visibility timeout. Every
# task's hard time limit must stay well below it, or a long task runs more than once.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=900)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=840)
if CELERY_TASK_TIME_LIMIT >= CELERY_VISIBILITY_TIMEOUT:
    fail("CELERY_TASK_TIME_LIMIT", "must be shorter than CELERY_VISIBILITY_TIMEOUT")
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    fail("CELERY_TASK_SOFT_TIME_LIMIT", "must be shorter than CELERY_TASK_TIME_LIMIT")

CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The one publish retry policy, for every message: backoffice.enqueue, beat, a task's own
# retry and a chord's callback. Two quick retries, about half a second in all, so a web
# request never hangs on a dead broker.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0,
                                    "interval_step": 0.2, "interval_max": 0.3}
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
# A result row goes with its task run (TaskRun), by one rule: operations.tasks.prune_task_history
# after OPS_TASK_HISTORY_DAYS. Celery's own expiry (and its celery.backend_cleanup) is off.
CELERY_RESULT_EXPIRES = None
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
_task_events = env.bool("CELERY_TASK_EVENTS", default=False)
CELERY_WORKER_SEND_TASK_EVENTS = _task_events
CELERY_TASK_SEND_SENT_EVENT = _task_events
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Lets the console's Workers page restart a worker's pool (`pool_restart`): each process
# finishes its running task and is replaced. Without it the command is refused.
CELERY_WORKER_POOL_RESTARTS = env.bool("CELERY_WORKER_POOL_RESTARTS", default=True)

# In the order a worker on every queue takes them: transactional mail first, bulk mail last.
CELERY_QUEUE_NAMES = ("email", "default", "reports", "maintenance", "bulk")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in CELERY_QUEUE_NAMES
)
# Each task declares its queue next to its code (`queue=` in its decorator); the router
# reads that, so no list of names or patterns here. Bulk notification work has its own
# queue, so transactional mail never waits behind its batches.
CELERY_TASK_ROUTES = ("backoffice.celery.route_by_declaration",)
CELERY_BEAT_SCHEDULER = "operations.beat:HeartbeatDatabaseScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 15
# Staff other than superusers cannot give a schedule a shorter interval (interval schedules
# are shared by every periodic task that uses them).
SCHEDULE_MIN_INTERVAL_SECONDS = env.int("SCHEDULE_MIN_INTERVAL_SECONDS", default=60)
if SCHEDULE_MIN_INTERVAL_SECONDS < 1:
    fail("SCHEDULE_MIN_INTERVAL_SECONDS", "must be at least 1")
DJANGO_CELERY_BEAT_TZ_AWARE = True
