"""Task runs that pruning keeps whatever their age, because another app reads them.

An app whose rows point at task runs by task id (a maintenance button press reads its
outcome from its task's run) registers a function that returns those task ids as a query,
from its AppConfig.ready. The console prunes around them without importing that app.
"""

from __future__ import annotations

from collections.abc import Callable

_sources: list[Callable] = []


def kept_task_ids_register(source: Callable) -> None:
    """Keep the runs whose task ids `source()` returns (a `values("task_id")` query)."""
    if source not in _sources:
        _sources.append(source)


def kept_task_id_queries() -> list:
    """One query of task ids per registered source."""
    return [source() for source in _sources]
