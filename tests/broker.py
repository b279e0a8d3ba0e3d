"""The test run's own Redis database seen as a broker: what workers wait on, what waits."""

from __future__ import annotations

from backoffice.redis_client import redis_client
from operations.selectors import queue_keys


def end_waiting_pops() -> None:
    """End, as if their timeout had passed, the blocking pops the workers of this run wait
    in. A pop issued before a worker stopped consuming a queue would still take the next
    message put there; the pop the worker issues next leaves that queue out."""
    client = redis_client()
    database = client.connection_pool.connection_kwargs.get("db", 0)
    for entry in client.client_list():
        if (int(entry["db"]) == database and "b" in entry["flags"]
                and entry["cmd"] == "brpop"):
            client.client_unblock(entry["id"])


def drop_waiting_messages(queues) -> None:
    """Delete what still waits in `queues` (each priority's list), so a test's leftovers
    never run against a later test's rows."""
    client = redis_client()
    for queue in queues:
        client.delete(*queue_keys(queue))
