"""Bounded cleanup: delete old rows by primary-key windows, one short transaction each.

Each batch is one `DELETE ... WHERE id >= lo AND id < hi AND <older than cut-off>` that
walks the primary key, so no row is loaded into Python, no transaction holds more than
`CLEANUP_BATCH_SIZE` ids, and the whole table is passed over once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from backoffice.locks import job_lock

logger = logging.getLogger(__name__)


@dataclass
class Target:
    """One table to clean: rows whose `date_field` is older than `days` (and `extra`)."""

    label: str
    date_field: str
    days: int
    extra: Q = field(default_factory=Q)
    children: tuple[tuple[str, str], ...] = ()  # (model label, fk attname) deleted first


def cleanup_targets(*, days: int) -> list[Target]:
    """What the cleanup deletes. Models of apps not installed yet are skipped."""
    result_days = max(1, round(settings.CELERY_RESULT_EXPIRES / 86400))
    email_days = settings.EMAIL_RETENTION_DAYS
    return [
        Target("reports.ApiRequest", "timestamp", days),
        # Expired task results (only finished ones have date_done set).
        Target("django_celery_results.TaskResult", "date_done", result_days),
        Target("django_celery_results.GroupResult", "date_done", result_days),
        # Transactional emails: finished ones, with their attempt log.
        Target("notifications.TransactionalEmail", "updated_at", email_days,
               Q(status__in=["sent", "failed"]),
               children=(("notifications.EmailAttempt", "email_id"),)),
        # Bulk notification deliveries in a final state.
        Target("notifications.Delivery", "updated_at", email_days,
               Q(status__in=["sent", "failed", "skipped"])),
        # Who pressed which maintenance button: an audit record, kept long.
        Target("maintenance.MaintenanceRun", "requested_at",
               settings.MAINTENANCE_RUN_RETENTION_DAYS),
    ]


def _model_or_none(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


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
    child_models = [(child, fk) for label, fk in children
                    if (child := _model_or_none(label)) is not None]
    low, high = bounds["low"], bounds["high"]
    while low <= high:
        window = old.filter(pk__gte=low, pk__lt=low + batch_size)
        started = time.perf_counter()
        with transaction.atomic():
            for child, fk in child_models:
                child._base_manager.filter(**{f"{fk}__in": window.values("pk")}) \
                    ._raw_delete(connection.alias)
            deleted = window._raw_delete(connection.alias)
        elapsed = time.perf_counter() - started
        stats["deleted"] += deleted or 0
        stats["batches"] += 1
        stats["longest_batch_seconds"] = max(stats["longest_batch_seconds"], round(elapsed, 4))
        low += batch_size
    return stats


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
    """Delete old API log rows, expired task results, finished emails, old maintenance runs
    and expired sessions; prune backups.

    Report rows (DailyReport, WeeklyAnalytics) are never deleted, so charts survive.
    Returns {"tables": {label: rows deleted}, "batches": ..., "longest_batch_seconds": ...}.
    """
    from maintenance.services import backups_prune

    days = settings.LOG_RETENTION_DAYS if days is None else days
    now = now or timezone.now()
    tables: dict[str, int] = {}
    batches, longest = 0, 0.0
    skipped: dict[str, str] = {}
    with job_lock("cleanup"):
        for target in cleanup_targets(days=days):
            model = _model_or_none(target.label)
            if model is None:
                continue
            try:
                stats = delete_older_than(
                    model=model, date_field=target.date_field,
                    cutoff=now - dt.timedelta(days=target.days), extra=target.extra,
                    children=target.children, batch_size=batch_size)
            except FieldError as exc:  # a model whose fields differ from the target's spec
                logger.error("cleanup skipped %s: %s", target.label, exc)
                skipped[model._meta.label] = str(exc)
                continue
            tables[model._meta.label] = stats["deleted"]
            batches += stats["batches"]
            longest = max(longest, stats["longest_batch_seconds"])
        sessions = sessions_prune(now=now, batch_size=batch_size)
        if sessions is not None:
            tables["sessions.Session"] = sessions
        tables["maintenance.Backup"] = backups_prune(now=now)
    result = {"days": days, "tables": tables, "batches": batches,
              "longest_batch_seconds": longest}
    if skipped:
        result["skipped"] = skipped
    return result
