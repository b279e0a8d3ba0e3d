"""Thin Celery tasks of the operations console."""

from celery import shared_task
from django.conf import settings

from backoffice.housekeeping import HOUSEKEEPING
from backoffice.task_arguments import RetentionDays


class PruneArguments(RetentionDays):
    setting = "OPS_TASK_HISTORY_DAYS"
    # Pruning deletes history as the nightly cleanup does: the same permission runs both.
    permission = "maintenance.run_cleanup"


@shared_task(name="operations.tasks.prune_task_history", queue="maintenance",
             arguments=PruneArguments,
             **HOUSEKEEPING)
def prune_task_history(days: int | None = None) -> dict:
    """Delete finished task runs older than `days` (default OPS_TASK_HISTORY_DAYS), in batches."""
    from operations.services import task_history_prune

    return task_history_prune(older_than_days=days or settings.OPS_TASK_HISTORY_DAYS)
