"""Writes of the maintenance app: create and prune backups (restore lives in restore.py,
cleanup in cleanup.py, one-click runs in actions.py)."""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.utils import timezone

from backoffice.locks import job_lock, lock_timeout
from maintenance.backup_storage import (
    BackupError,
    backup_dir,
    backup_remove,
    checked_name,
    stored_names,
)
from maintenance.backups import backup_models, backup_suffix, backup_write
from maintenance.models import Backup
from maintenance.selectors import backups_past_retention

logger = logging.getLogger(__name__)


def backup_create(*, triggered_by: str = "", task_id: str | None = None,
                  include_api_log: bool | None = None) -> Backup:
    """Write one backup file and its Backup row. Raises JobLocked when one is running.

    The row turns "success" only once the file and its sidecars are stored. On any error
    (including a soft time limit, or the object storage failing mid-upload) the temp file
    and whatever was stored of it are removed, the row is marked failed with the error, and
    the error is raised again.
    """
    with job_lock("backup"):
        started = timezone.now()
        backup = Backup.objects.create(started_at=started, triggered_by=triggered_by[:100],
                                       task_id=task_id or None)
        name = f"backup-{started:%Y%m%d-%H%M%S}-{backup.pk}{backup_suffix()}"
        try:
            figures = backup_write(name=name,
                                   models=backup_models(include_api_log=include_api_log))
        except BaseException as exc:
            Backup.objects.filter(pk=backup.pk).update(
                status=Backup.Status.FAILED, finished_at=timezone.now(),
                error=f"{type(exc).__name__}: {exc}"[:5000])
            raise
        Backup.objects.filter(pk=backup.pk).update(
            status=Backup.Status.SUCCESS, finished_at=timezone.now(), file_name=name, **figures)
        backup.refresh_from_db()
        return backup


def backup_delete(*, backup: Backup) -> None:
    """Remove a backup's file (and its checksum and signature files) from the storage, then
    its row; a file name that leads outside the storage removes the row only."""
    if backup.file_name:
        try:
            name = checked_name(backup.file_name)
        except BackupError as exc:
            logger.warning("backup %s: file left alone: %s", backup.pk, exc)
            backup.delete()
            return
        backup_remove(name)
    backup.delete()


def backups_prune(*, keep_last: int | None = None, keep_days: int | None = None,
                  now: dt.datetime | None = None) -> int:
    """Delete backups that are neither among the newest `keep_last` successful ones nor
    younger than `keep_days` days. Running backups are never touched. Returns how many."""
    now = now or timezone.now()
    doomed = backups_past_retention(keep_last=keep_last, keep_days=keep_days, now=now)
    stale = now - dt.timedelta(seconds=lock_timeout())
    removed = 0
    for backup in doomed.iterator(chunk_size=100):  # a handful of rows, each with a file
        backup_delete(backup=backup)
        removed += 1
    removed += _orphans_remove()
    # Temp files of runs killed mid-write (a live run's file is younger than the lock).
    for temp in backup_dir().glob(".*.tmp"):
        if temp.stat().st_mtime < stale.timestamp():
            temp.unlink(missing_ok=True)
    return removed


def _orphans_remove() -> int:
    """Remove stored files that no successful Backup row names and no running one is
    writing (what an upload that failed half-way, with the storage down, left behind)."""
    names = stored_names()
    if not names:
        return 0
    kept = set(Backup.objects.filter(status=Backup.Status.SUCCESS)
               .values_list("file_name", flat=True))
    running = {str(pk) for pk in Backup.objects.filter(status=Backup.Status.RUNNING)
               .values_list("pk", flat=True)}
    removed = 0
    for name in names:
        pk = re.search(r"-(\d+)\.", name)
        if name not in kept and not (pk and pk.group(1) in running):
            backup_remove(name)
            removed += 1
    return removed

