"""Checks of the moving parts: the database, Redis, the workers and beat, each a small dict
with "ok" (and "error" when it is not). Read by operations.health's cached reports."""

from __future__ import annotations

from celery import current_app
from django.conf import settings
from django.db import connection

from backoffice.redis_client import redis_status
from operations.beat import beat_status
from operations.registry import worker_records


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "vendor": connection.vendor}


def workers_status(*, broker_ok: bool, timeout: float | None = None) -> dict:
    """Ping every worker over the broker with a short timeout."""
    if not broker_ok:
        return {"ok": False, "count": 0, "names": [], "error": "broker unreachable"}
    timeout = settings.HEALTH_WORKER_PING_TIMEOUT if timeout is None else timeout
    try:
        with current_app.connection_for_write(settings.CELERY_BROKER_URL) as broker:
            replies = current_app.control.ping(timeout=timeout, connection=broker) or []
    except Exception as exc:
        return {"ok": False, "count": 0, "names": [], "error": f"{type(exc).__name__}: {exc}"}
    names = sorted(name for reply in replies for name in reply)
    status = {"ok": bool(names), "count": len(names), "names": names}
    if not names:
        status["error"] = f"no worker answered a ping within {timeout:g}s"
    return status


def workers_from_heartbeats() -> dict:
    """Workers online by their own heartbeats in Redis: no broadcast, answers at once."""
    try:
        names = sorted(r["hostname"] for r in worker_records() if r["online"])
    except Exception as exc:
        return {"ok": False, "count": 0, "names": [], "error": f"{type(exc).__name__}: {exc}"}
    status = {"ok": bool(names), "count": len(names), "names": names}
    if not names:
        status["error"] = "no worker has sent a heartbeat recently"
    return status


def _verdict(checks: dict) -> dict:
    failing = [name for name, check in checks.items() if not check["ok"]]
    return {"status": "fail" if failing else "ok", "failing": failing, "checks": checks}


def readiness() -> dict:
    """Can this web process serve requests: its database and Redis answer. Never asks
    about workers or beat, so their trouble never takes a web host out of service."""
    return _verdict({"database": database_status(), "redis": redis_status()})


def system_health(*, workers=None) -> dict:
    """State of every part; `failing` names the parts that are down. `workers(broker_ok)`
    replaces the live ping (operations.health serves the last background ping)."""
    redis = redis_status()
    return _verdict({
        "database": database_status(),
        "redis": redis,
        "workers": (workers or (lambda ok: workers_status(broker_ok=ok)))(redis["ok"]),
        "beat": beat_status(broker_ok=redis["ok"]),
    })
