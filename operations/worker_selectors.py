"""Reads for the Workers page: what each online worker says about itself when asked.

The registry (operations.registry) says which workers are online; each of them is then
asked with `inspect` (stats first, then active, reserved, scheduled, queues and rate limits,
only of the workers that answered), so a worker that does not answer costs one short
timeout, not six.
"""

from __future__ import annotations

from celery import current_app
from django.conf import settings

from backoffice.redis_client import redis_client, redis_status
from operations.registry import worker_records

RATE_LIMIT_FIELD = "rate_limit"


def _request(task: dict) -> dict:
    return {"id": task.get("id", ""), "name": task.get("name") or task.get("type", ""),
            "args": task.get("args"), "kwargs": task.get("kwargs"),
            "time_start": task.get("time_start"), "worker_pid": task.get("worker_pid")}


def _rate_limits(registered: list[str]) -> dict[str, str]:
    """Task name → rate limit, from `registered("rate_limit")` lines like
    "app.tasks.name [rate_limit=6/m]"."""
    limits = {}
    for line in registered or []:
        name, _, rest = line.partition(" [")
        for item in rest.rstrip("]").split():
            key, _, value = item.partition("=")
            if key == RATE_LIMIT_FIELD and value not in ("", "None"):
                limits[name] = value
    return limits


def _worker(hostname: str, record: dict, replies: dict) -> dict:
    stats = replies["stats"].get(hostname) or {}
    pool = stats.get("pool") or {}
    processes = pool.get("processes") or []
    autoscaler = stats.get("autoscaler")
    return {
        "hostname": hostname, "answered": True, "record": record,
        "pid": stats.get("pid"), "uptime": stats.get("uptime"),
        "loadavg": record.get("loadavg"), "rss": record.get("rss"),
        "peak_rss": (stats.get("rusage") or {}).get("maxrss"),  # kilobytes (Linux)
        "pool_kind": record.get("pool") or "",
        "pool_size": len(processes) or pool.get("max-concurrency"),
        "max_concurrency": pool.get("max-concurrency"),
        "processes": processes, "autoscaler": autoscaler,
        "prefetch_count": stats.get("prefetch_count"),
        "processed": sum((stats.get("total") or {}).values()),
        "active": [_request(t) for t in replies["active"].get(hostname) or []],
        "reserved": [_request(t) for t in replies["reserved"].get(hostname) or []],
        "scheduled": [{**_request(t.get("request") or {}), "eta": t.get("eta")}
                      for t in replies["scheduled"].get(hostname) or []],
        "queues": sorted(q.get("name", "") for q in replies["active_queues"].get(hostname)
                         or []),
        "rate_limits": _rate_limits(replies["registered"].get(hostname)),
    }


def workers_detail(*, timeout: float | None = None) -> dict:
    """Each online worker in detail, or why it could not be read.

    {"broker": {...}, "workers": [...], "silent": [hostnames that did not answer]}
    """
    timeout = settings.OPS_INSPECT_TIMEOUT if timeout is None else timeout
    broker = redis_status()
    data = {"broker": broker, "workers": [], "silent": [], "timeout": timeout}
    if not broker["ok"]:
        return data
    try:
        records = {w["hostname"]: w for w in worker_records(redis_client()) if w["online"]}
        if not records:
            return data
        control = current_app.control
        names = sorted(records)
        stats = control.inspect(destination=names, timeout=timeout, limit=len(names)).stats()
        answered = sorted(name for name in names if name in (stats or {}))
        replies = {"stats": stats or {}}
        if answered:
            inspect = control.inspect(destination=answered, timeout=timeout,
                                      limit=len(answered))
            replies.update(active=inspect.active() or {}, reserved=inspect.reserved() or {},
                           scheduled=inspect.scheduled() or {},
                           active_queues=inspect.active_queues() or {},
                           registered=inspect.registered(RATE_LIMIT_FIELD) or {})
    except Exception as exc:  # the broker went away between the ping and the broadcast
        data["broker"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return data
    data["workers"] = [_worker(name, records[name], replies) for name in answered]
    data["silent"] = [name for name in names if name not in answered]
    return data
