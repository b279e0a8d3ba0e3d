"""Reads about the health of the moving parts: database, Redis, workers, beat."""

from __future__ import annotations

import time

from celery import current_app
from django.conf import settings
from django.db import connection

from maintenance.broker import BEAT_HEARTBEAT_KEY, redis_client


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "vendor": connection.vendor}


def redis_status() -> dict:
    """Ping the broker's Redis (short timeouts, never hangs)."""
    try:
        redis_client().ping()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}


def workers_status(*, broker_ok: bool, timeout: float | None = None) -> dict:
    """Ping every worker over the broker with a short timeout."""
    if not broker_ok:
        return {"ok": False, "count": 0, "names": [], "error": "broker unreachable"}
    timeout = settings.HEALTH_WORKER_PING_TIMEOUT if timeout is None else timeout
    try:
        with current_app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            replies = current_app.control.ping(timeout=timeout, connection=connection) or []
    except Exception as exc:
        return {"ok": False, "count": 0, "names": [], "error": f"{type(exc).__name__}: {exc}"}
    names = sorted(name for reply in replies for name in reply)
    status = {"ok": bool(names), "count": len(names), "names": names}
    if not names:
        status["error"] = f"no worker answered a ping within {timeout:g}s"
    return status


def beat_last_heartbeat() -> float | None:
    """Epoch seconds of beat's last tick, or None when beat never ticked (or Redis is down)."""
    value = redis_client().get(BEAT_HEARTBEAT_KEY)
    return float(value) if value else None


def beat_status(*, broker_ok: bool) -> dict:
    if not broker_ok:
        return {"ok": False, "last_heartbeat": None, "error": "broker unreachable"}
    try:
        last = beat_last_heartbeat()
    except Exception as exc:
        return {"ok": False, "last_heartbeat": None, "error": f"{type(exc).__name__}: {exc}"}
    if last is None:
        return {"ok": False, "last_heartbeat": None, "error": "beat has never ticked"}
    age = max(0.0, time.time() - last)
    status = {"ok": age <= settings.BEAT_HEARTBEAT_MAX_AGE, "last_heartbeat": last,
              "age_seconds": round(age, 1)}
    if not status["ok"]:
        status["error"] = f"last heartbeat {age:.0f}s ago"
    return status


def system_health(*, worker_timeout: float | None = None) -> dict:
    """State of every part; `failing` names the parts that are down."""
    redis = redis_status()
    checks = {
        "database": database_status(),
        "redis": redis,
        "workers": workers_status(broker_ok=redis["ok"], timeout=worker_timeout),
        "beat": beat_status(broker_ok=redis["ok"]),
    }
    failing = [name for name, check in checks.items() if not check["ok"]]
    return {"status": "fail" if failing else "ok", "failing": failing, "checks": checks}
