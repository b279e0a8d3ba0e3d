"""Operations: the health check, beat's heartbeat, the task history and its counters."""

from __future__ import annotations

from backoffice.settings.config import env, fail

# Beat is healthy when its heartbeat (written every loop) is younger than this.
BEAT_HEARTBEAT_MAX_AGE = env.int("BEAT_HEARTBEAT_MAX_AGE", default=90)
HEALTH_WORKER_PING_TIMEOUT = env.float("HEALTH_WORKER_PING_TIMEOUT", default=1.0)
# /healthz builds its report at most once per this many seconds per process; the worker
# ping runs in a background thread at most as often.
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=5.0)
# Operations console: a queue whose oldest task has waited longer than this is stuck
# (or draining, when it was resumed or finished a task within as long: selectors.queue_state);
# /metrics answers these client addresses (CIDR allowed) without a staff token.
OPS_QUEUE_WAIT_ALERT_SECONDS = env.int("OPS_QUEUE_WAIT_ALERT_SECONDS", default=300)
OPS_METRICS_ALLOWED_IPS = env.list("OPS_METRICS_ALLOWED_IPS", default=[])
# operations.tasks.prune_task_history keeps this many days of finished task runs.
OPS_TASK_HISTORY_DAYS = env.int("OPS_TASK_HISTORY_DAYS", default=30)
# Each worker process folds its finished runs into the per-minute counters this often; at
# most this many runs wait meanwhile.
TASK_STATS_FLUSH_SECONDS = env.float("TASK_STATS_FLUSH_SECONDS", default=2.0)
if TASK_STATS_FLUSH_SECONDS <= 0:
    fail("TASK_STATS_FLUSH_SECONDS", "must be more than 0 (seconds between writes)")
TASK_STATS_MAX_BUFFER = env.int("TASK_STATS_MAX_BUFFER", default=100_000)
# Workers page: how long each `inspect` waits for the workers' replies (the page asks a
# worker that does not answer only once), and the largest pool a console user may set.
OPS_INSPECT_TIMEOUT = env.float("OPS_INSPECT_TIMEOUT", default=1.0)
OPS_WORKER_POOL_MAX = env.int("OPS_WORKER_POOL_MAX", default=32)
