"""The reports /readyz and /healthz serve: cached per process, the worker ping off-thread.

Anyone may call them, so an anonymous call must stay cheap: it gets the report built at
most once every HEALTH_CACHE_SECONDS per process, and the worker ping (which waits up to
HEALTH_WORKER_PING_TIMEOUT for replies) runs in a background thread whose last result the
report uses. Until the first ping of a process has answered, or when the last one is too
old to trust, the workers' own heartbeats in Redis (operations.registry) stand in.
Anonymous callers get verdicts only; error texts (which may name database roles, hosts and
ports) and worker names are for staff.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from operations import health_checks

_lock = threading.Lock()
_build_locks = {"health": threading.Lock(), "ready": threading.Lock()}
_EMPTY = {"reports": {}, "ping": None, "pinged_at": 0.0, "pinging": False}
_state: dict = {**_EMPTY, "generation": 0}


def _ping(generation: int) -> None:
    status = None
    try:
        status = health_checks.workers_status(broker_ok=True)
    finally:
        from django.db import connections

        connections.close_all()  # this thread's connections, if a signal opened one
        with _lock:
            if _state["generation"] == generation:  # not cleared meanwhile
                _state["pinging"] = False
                if status is not None:
                    _state.update(ping=status, pinged_at=time.monotonic())


def _workers(broker_ok: bool) -> dict:
    """The last ping's result; a new ping starts in the background when it is old.

    A ping too old to trust (no request for a while) gives way to the heartbeats.
    """
    if not broker_ok:
        return health_checks.workers_status(broker_ok=False)
    interval = settings.HEALTH_CACHE_SECONDS
    with _lock:
        last, age = _state["ping"], time.monotonic() - _state["pinged_at"]
        if age >= interval and not _state["pinging"]:
            _state["pinging"] = True
            threading.Thread(target=_ping, args=(_state["generation"],), name="healthz-ping",
                             daemon=True).start()
    trusted = age < 2 * interval + settings.HEALTH_WORKER_PING_TIMEOUT
    return last if last is not None and trusted else health_checks.workers_from_heartbeats()


def _cached(kind: str, build) -> dict:
    """The report of `kind`, built by `build()` at most once per HEALTH_CACHE_SECONDS."""
    interval = settings.HEALTH_CACHE_SECONDS
    with _lock:
        report, built_at = _state["reports"].get(kind, (None, 0.0))
    stale = report is None or time.monotonic() - built_at >= interval
    # One builder at a time: the others serve the previous report meanwhile (or, before the
    # first one exists, wait for it and then find it fresh).
    if stale and _build_locks[kind].acquire(blocking=report is None):
        try:
            with _lock:
                report, built_at = _state["reports"].get(kind, (None, 0.0))
            if report is None or time.monotonic() - built_at >= interval:
                report = build()
                with _lock:
                    _state["reports"][kind] = (report, time.monotonic())
        finally:
            _build_locks[kind].release()
    return report


def health_report(*, details: bool) -> dict:
    """The whole system (database, Redis, workers, beat); with `details` (staff) error
    texts and worker names included."""
    report = _cached("health", lambda: health_checks.system_health(workers=_workers))
    return report if details else _public(report)


def readiness_report(*, details: bool) -> dict:
    """This web process's own dependencies (database, Redis), for load balancers."""
    report = _cached("ready", health_checks.readiness)
    return report if details else _public(report)


def _public(report: dict) -> dict:
    keep = {"ok", "count", "age_seconds", "last_heartbeat"}
    return {**report, "checks": {name: {k: v for k, v in check.items() if k in keep}
                                 for name, check in report["checks"].items()}}


def health_cache_clear() -> None:
    """Forget the cached report and ping (tests, and a settings change in a shell)."""
    with _lock:
        _state.update({**_EMPTY, "reports": {}}, generation=_state["generation"] + 1)
