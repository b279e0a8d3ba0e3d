"""How far a running restore has got, kept in Redis: the restore writes inside one database
transaction, so its progress is invisible in the database until it commits."""

from __future__ import annotations

from collections.abc import Callable

from backoffice.redis_client import redis_client

PROGRESS_KEY = "backoffice:restore-progress:{}"
PROGRESS_TTL = 7 * 24 * 3600


def restore_progress_reporter(task_id: str, *, total: int | None) -> Callable[[int], None]:
    """A callback for maintenance.restore.backup_restore that records rows restored so far."""
    key = PROGRESS_KEY.format(task_id)
    client = redis_client()
    client.hset(key, mapping={"done": 0, "total": -1 if total is None else total})
    client.expire(key, PROGRESS_TTL)

    def report(done: int) -> None:
        client.hset(key, "done", done)

    return report


def restore_progress(task_id: str) -> dict | None:
    """{"done", "total"} (total None when unknown) of a restore task, or None before it began."""
    if not task_id:
        return None
    values = redis_client().hgetall(PROGRESS_KEY.format(task_id))
    if not values:
        return None
    done, total = int(values["done"]), int(values["total"])
    return {"done": done, "total": None if total < 0 else total}
