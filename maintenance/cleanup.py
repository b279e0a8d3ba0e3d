"""Bounded cleanup: delete old rows by primary-key windows, one short transaction each.

Each batch is one `DELETE ... WHERE id >= lo AND id < hi AND <older than cut-off>` that
walks the primary key, so no row is loaded into Python, no transaction holds more than
`CLEANUP_BATCH_SIZE` ids, and the whole table is passed over once.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import capfirst

from backoffice.locks import job_lock
from maintenance.checks import configured_model


@dataclass
class Target:
    """One table to clean: rows whose `date_field` is older than `days` (and `extra`)."""

    label: str
    date_field: str
    days: int
    extra: Q = field(default_factory=Q)
    children: tuple[tuple[str, str], ...] = ()  # (model label, fk attname) deleted first


def cleanup_targets(*, days: int) -> list[Target]:
    """What the cleanup deletes (CLEANUP_TARGETS), with `days` as LOG_RETENTION_DAYS."""
    overrides = {"LOG_RETENTION_DAYS": days}
    return [
        Target(label=entry["model"], date_field=entry["date_field"],
               days=overrides.get(entry["keep_days"], getattr(settings, entry["keep_days"])),
               extra=Q(status__in=entry["statuses"]) if "statuses" in entry else Q(),
               children=tuple(entry.get("children", {}).items()))
        for entry in settings.CLEANUP_TARGETS
    ]


def rows_delete(queryset) -> int:
    """DELETE the rows of `queryset` in one statement: no rows loaded, no signals, no
    cascade collection (Django's `QuerySet.delete()` does all three). Returns the count."""
    quote = connection.ops.quote_name
    model = queryset.model
    select, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(model._meta.db_table)} WHERE "
                       f"{quote(model._meta.pk.column)} IN ({select})", params)
        return cursor.rowcount


def table_empty(model) -> None:
    """DELETE every row of `model`'s table in one statement (see rows_delete)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def delete_older_than(*, model, date_field: str, cutoff: dt.datetime, extra: Q | None = None,
                      children=(), batch_size: int | None = None) -> dict:
    """Delete rows of `model` older than `cutoff` in primary-key windows.

    Returns {"deleted", "batches", "longest_batch_seconds"}.
    """
    batch_size = batch_size or settings.CLEANUP_BATCH_SIZE
    old = model._base_manager.filter(Q(**{f"{date_field}__lt": cutoff}) & (extra or Q()))
    bounds = old.aggregate(low=Min("pk"), high=Max("pk"))
    stats = {"deleted": 0, "batches": 0, "longest_batch_seconds": 0.0}
    if bounds["low"] is None:
        return stats
    child_models = [(configured_model("CLEANUP_TARGETS", label), fk) for label, fk in children]
    low, high = bounds["low"], bounds["high"]
    while low <= high:
        window = old.filter(pk__gte=low, pk__lt=low + batch_size)
        started = time.perf_counter()
        with transaction.atomic():
            for child, fk in child_models:
                rows_delete(child._base_manager.filter(**{f"{fk}__in": window.values("pk")}))
            deleted = rows_delete(window)
        elapsed = time.perf_counter() - started
        stats["deleted"] += deleted or 0
        stats["batches"] += 1
        stats["longest_batch_seconds"] = max(stats["longest_batch_seconds"], round(elapsed, 4))
        low += batch_size
    return stats


def cleanup_preview(*, days: int | None = None, now: dt.datetime | None = None) -> list[dict]:
    """What a cleanup started now would delete: per table, the retention and the rows older
    than it, counted with the same date filter the cleanup deletes by."""
    from maintenance.selectors import backups_past_retention

    days = settings.LOG_RETENTION_DAYS if days is None else days
    now = now or timezone.now()
    preview = []
    for target in cleanup_targets(days=days):
        model = configured_model("CLEANUP_TARGETS", target.label)
        cutoff = now - dt.timedelta(days=target.days)
        rows = model._base_manager.filter(
            Q(**{f"{target.date_field}__lt": cutoff}) & target.extra).count()
        preview.append({"label": model._meta.label, "days": target.days, "cutoff": cutoff,
                        "name": capfirst(str(model._meta.verbose_name_plural)),
                        "rows": rows})
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    if hasattr(store, "get_model_class"):
        preview.append({"label": "sessions.Session", "days": None, "cutoff": now,
                        "name": "Expired sessions", "rows": store.get_model_class()
                        .objects.filter(expire_date__lt=now).count()})
    preview.append({"label": "maintenance.Backup", "days": settings.BACKUP_KEEP_DAYS,
                    "cutoff": now - dt.timedelta(days=settings.BACKUP_KEEP_DAYS),
                    "name": f"Backups (beyond the newest {settings.BACKUP_KEEP_LAST})",
                    "rows": backups_past_retention(now=now).count()})
    return preview


def sessions_prune(*, now: dt.datetime, batch_size: int | None = None) -> int | None:
    """Delete expired sessions in batches (what `clearsessions` does, without one long DELETE).

    Returns the rows deleted, or None when sessions are not rows (the engine clears its own
    store: files are removed, cache and cookie sessions expire by themselves).
    """
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    if not hasattr(store, "get_model_class"):
        store.clear_expired()
        return None
    model = store.get_model_class()
    expired = model.objects.filter(expire_date__lt=now)
    batch_size = batch_size or settings.CLEANUP_BATCH_SIZE
    deleted = 0
    while keys := list(expired.values_list("pk", flat=True)[:batch_size]):
        deleted += model.objects.filter(pk__in=keys).delete()[0]
    return deleted


def logs_cleanup(*, days: int | None = None, batch_size: int | None = None,
                 now: dt.datetime | None = None) -> dict:
    """Delete old API log rows, finished emails, old maintenance runs and expired sessions;
    prune backups (task runs and their results: operations.services.task_history_prune).

    Report rows (DailyReport, WeeklyAnalytics) are never deleted, so charts survive.
    Returns {"tables": {label: rows deleted}, "batches": ..., "longest_batch_seconds": ...}.
    """
    from maintenance.services import backups_prune

    days = settings.LOG_RETENTION_DAYS if days is None else days
    now = now or timezone.now()
    tables: dict[str, int] = {}
    batches, longest = 0, 0.0
    with job_lock("cleanup"):
        for target in cleanup_targets(days=days):
            model = configured_model("CLEANUP_TARGETS", target.label)
            stats = delete_older_than(
                model=model, date_field=target.date_field,
                cutoff=now - dt.timedelta(days=target.days), extra=target.extra,
                children=target.children, batch_size=batch_size)
            tables[model._meta.label] = stats["deleted"]
            batches += stats["batches"]
            longest = max(longest, stats["longest_batch_seconds"])
        sessions = sessions_prune(now=now, batch_size=batch_size)
        if sessions is not None:
            tables["sessions.Session"] = sessions
        tables["maintenance.Backup"] = backups_prune(now=now)
    return {"days": days, "tables": tables, "batches": batches,
            "longest_batch_seconds": longest}
