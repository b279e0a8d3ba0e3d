"""State changes on running workers: rate limits, pool size, autoscale, pool restart, shutdown.

Each function checks its input, the broker and that the worker is online first, and raises
`OpsError` with a sentence for the user; nothing is sent when it does. Commands go to one
worker (`destination`) and wait at most `CONTROL_TIMEOUT` for its reply.
"""

from __future__ import annotations

import re

from celery import current_app
from django.conf import settings

from operations.filters import registered_task_names
from operations.registry import worker_records
from operations.services import CONTROL_TIMEOUT, OpsError, _require_broker

RATE_PATTERN = re.compile(r"^\d+(\.\d+)?(/[smh])?$")


def _require_online(hostname: str) -> None:
    online = [w["hostname"] for w in worker_records() if w["online"]]
    if hostname not in online:
        raise OpsError(f"Worker {hostname!r} is not online; nothing was sent.")


def _command(name: str, *, hostname: str, **arguments) -> str:
    """Send one control command to `hostname` and return its answer, or raise OpsError."""
    replies = current_app.control.broadcast(
        name, arguments=arguments, destination=[hostname], reply=True,
        timeout=CONTROL_TIMEOUT, limit=1) or []
    answer = next((reply[hostname] for reply in replies if hostname in reply), None)
    if answer is None:
        raise OpsError(f"Worker {hostname} did not answer within {CONTROL_TIMEOUT:g} s; it may "
                       "still apply the command when it gets it.")
    if "error" in answer:
        raise OpsError(f"Worker {hostname} refused: {answer['error']}")
    return answer.get("ok", "")


def _checked(hostname: str) -> None:
    _require_broker()
    _require_online(hostname)


def task_rate_limit_set(*, hostname: str, task_name: str, rate_limit: str) -> str:
    """Set (or with an empty rate, clear) `task_name`'s rate limit on one worker, until it
    restarts. Rates look like "6/m", "10/s", "100/h" or a number per second."""
    rate_limit = (rate_limit or "").strip()
    if task_name not in registered_task_names():
        raise OpsError(f"Unknown task {task_name!r}; nothing was sent.")
    if rate_limit in ("", "0"):
        rate_limit = ""
    elif not RATE_PATTERN.match(rate_limit):
        raise OpsError(f"{rate_limit!r} is not a rate: write a number of tasks per second, "
                       "minute or hour, like 6/m, 10/s or 100/h; nothing was sent.")
    _checked(hostname)
    return _command("rate_limit", hostname=hostname, task_name=task_name,
                    rate_limit=rate_limit or None)


def _pool_size(hostname: str) -> tuple[int, bool]:
    """The worker's pool size now and whether it has an autoscaler (from its stats)."""
    stats = current_app.control.inspect(destination=[hostname], timeout=CONTROL_TIMEOUT,
                                        limit=1).stats() or {}
    if hostname not in stats:
        raise OpsError(f"Worker {hostname} did not answer within {CONTROL_TIMEOUT:g} s; "
                       "nothing was sent.")
    pool = stats[hostname].get("pool") or {}
    size = len(pool.get("processes") or []) or pool.get("max-concurrency") or 0
    return int(size), "autoscaler" in stats[hostname]


def _check_count(count) -> int:
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise OpsError(f"{count!r} is not a whole number of processes; nothing was sent.") \
            from None
    if count < 1:
        raise OpsError("Give at least 1 process; nothing was sent.")
    return count


def worker_pool_resize(*, hostname: str, by: int) -> int:
    """Grow (`by` > 0) or shrink (`by` < 0) one worker's pool; returns the size asked for.

    The new size stays between 1 and OPS_WORKER_POOL_MAX. A worker started with --autoscale
    refuses: change its autoscale range instead.
    """
    by = int(by)
    if by == 0:
        raise OpsError("Give at least 1 process; nothing was sent.")
    _checked(hostname)
    size, autoscaled = _pool_size(hostname)
    if autoscaled:
        raise OpsError(f"Worker {hostname} scales its pool itself (--autoscale): change its "
                       "autoscale range instead; nothing was sent.")
    wanted = size + by
    cap = settings.OPS_WORKER_POOL_MAX
    if wanted < 1 or wanted > cap:
        raise OpsError(f"The pool of {hostname} has {size} process(es); it must keep between "
                       f"1 and {cap} (OPS_WORKER_POOL_MAX), not {wanted}. Nothing was sent.")
    _command("pool_grow" if by > 0 else "pool_shrink", hostname=hostname, n=abs(by))
    return wanted


def worker_autoscale_set(*, hostname: str, maximum, minimum) -> str:
    """Set the autoscale range of a worker started with --autoscale."""
    maximum = _check_count(maximum)
    try:
        minimum = int(minimum)
    except (TypeError, ValueError):
        minimum = -1
    if minimum < 0:
        raise OpsError("The minimum must be a whole number, 0 or more; nothing was sent.")
    cap = settings.OPS_WORKER_POOL_MAX
    if maximum > cap:
        raise OpsError(f"The maximum may be at most {cap} (OPS_WORKER_POOL_MAX); nothing was "
                       "sent.")
    if minimum > maximum:
        raise OpsError(f"The minimum ({minimum}) is above the maximum ({maximum}); nothing was "
                       "sent.")
    _checked(hostname)
    if not _pool_size(hostname)[1]:
        raise OpsError(f"Worker {hostname} was not started with --autoscale, so it has no "
                       "autoscaler; grow or shrink its pool instead. Nothing was sent.")
    return _command("autoscale", hostname=hostname, max=maximum, min=minimum)


def worker_pool_restart(*, hostname: str) -> str:
    """Replace every pool process of one worker; each finishes its running task first."""
    _checked(hostname)
    return _command("pool_restart", hostname=hostname)


def worker_shutdown(*, hostname: str) -> str:
    """Ask one worker to stop (a warm shutdown: it finishes its running tasks, then exits)."""
    _checked(hostname)
    # A worker raises SystemExit in the command handler itself, so it never replies.
    current_app.control.broadcast("shutdown", destination=[hostname], reply=False)
    return "shutting down"
