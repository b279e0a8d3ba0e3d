"""Workers announce themselves in Redis; the console reads that instead of broadcasting.

Each worker writes a small JSON record (queues, pool size, active tasks, start time, the
host's load average and the memory its processes use) on
start and then every 2 s from its own event-loop timer (so it works whether or not the
worker sends Celery events). Reading it is one Redis round trip, so the
overview never waits for a broadcast reply, and a dead worker simply stops being fresh.
Paused queues are kept here too, so a worker that starts while a queue is paused does not
consume it.
"""

from __future__ import annotations

import json
import logging
import os
import time

from celery import signals

from backoffice.redis_client import redis_client

logger = logging.getLogger(__name__)

WORKERS_KEY = "backoffice:ops:workers"  # hash: hostname -> JSON record
PAUSED_KEY = "backoffice:ops:paused"  # hash: queue -> JSON {"at": epoch, "by": username}
RESUMED_KEY = "backoffice:ops:resumed"  # hash: queue -> epoch of its last Resume
PUBLISH_EVERY_SECONDS = 2.0
ONLINE_WITHIN_SECONDS = 10  # a record older than this is a worker that went away
FORGET_AFTER_SECONDS = 3600

_consumer = None
_started_at = None
_configured: list[str] = []


def _rss_bytes(pids) -> int | None:
    """Resident memory of these processes now (Linux /proc); None where it cannot be read."""
    total, page = 0, os.sysconf("SC_PAGE_SIZE")
    try:
        for pid in pids:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * page
    except (OSError, ValueError, IndexError):
        return None
    return total


def _record(consumer) -> dict:
    from celery.worker import state

    task_consumer = consumer.task_consumer
    queues = sorted(q.name for q in task_consumer.queues) if task_consumer is not None else []
    pool = getattr(consumer, "pool", None)
    try:
        children = list((pool.info or {}).get("processes") or []) if pool else []
    except Exception:
        children = []
    return {
        "hostname": consumer.hostname, "queues": queues, "configured_queues": _configured,
        "pool": type(pool).__module__.rsplit(".", 1)[-1] if pool else "", "pid": os.getpid(),
        "concurrency": getattr(consumer.controller, "concurrency", None),
        "active": len(state.active_requests), "processed": sum(state.total_count.values()),
        "started_at": _started_at, "heartbeat_at": time.time(),
        "loadavg": [round(load, 2) for load in os.getloadavg()],
        "rss": _rss_bytes([os.getpid(), *children]),
    }


def publish(consumer) -> None:
    try:
        redis_client().hset(WORKERS_KEY, consumer.hostname, json.dumps(_record(consumer)))
    except Exception:
        logger.warning("could not publish the worker record", exc_info=True)


@signals.worker_ready.connect(dispatch_uid="operations.worker_ready")
def on_worker_ready(sender=None, **_):
    global _consumer, _started_at, _configured
    _consumer, _started_at = sender, time.time()
    _configured = sorted(queue.name for queue in sender.task_consumer.queues)
    try:
        paused = set(redis_client().hkeys(PAUSED_KEY))
    except Exception:
        paused = set()
    for queue in sorted(paused & set(_configured)):
        logger.info("queue %s is paused in the console; not consuming it", queue)
        sender.cancel_task_queue(queue)
    publish(sender)
    sender.timer.call_repeatedly(PUBLISH_EVERY_SECONDS, publish, (sender,))


@signals.worker_shutdown.connect(dispatch_uid="operations.worker_shutdown")
def on_worker_shutdown(sender=None, **_):
    if _consumer is None:
        return
    try:
        record = _record(_consumer)
        record.update(queues=[], active=0, stopped_at=time.time())
        redis_client().hset(WORKERS_KEY, _consumer.hostname, json.dumps(record))
    except Exception:
        logger.warning("could not mark the worker as stopped", exc_info=True)


def worker_records(client=None) -> list[dict]:
    """Every worker seen in the last hour, newest heartbeat first, with an `online` flag."""
    client = client or redis_client()
    now = time.time()
    records, stale = [], []
    for hostname, raw in client.hgetall(WORKERS_KEY).items():
        try:
            record = json.loads(raw)
        except ValueError:
            stale.append(hostname)
            continue
        age = now - record.get("heartbeat_at", 0)
        if age > FORGET_AFTER_SECONDS:
            stale.append(hostname)
            continue
        record["heartbeat_age"] = round(max(age, 0.0), 1)
        record["online"] = age <= ONLINE_WITHIN_SECONDS and not record.get("stopped_at")
        started = record.get("started_at")
        record["uptime"] = round(now - started) if started and record["online"] else None
        records.append(record)
    if stale:
        client.hdel(WORKERS_KEY, *stale)
    return sorted(records, key=lambda r: (not r["online"], r["hostname"]))


def paused_queues(client=None) -> dict[str, dict]:
    client = client or redis_client()
    return {queue: json.loads(raw) for queue, raw in client.hgetall(PAUSED_KEY).items()}


def resumed_queues(client=None) -> dict[str, float]:
    """When each queue was last resumed (epoch seconds)."""
    client = client or redis_client()
    return {queue: float(at) for queue, at in client.hgetall(RESUMED_KEY).items()}
