"""Reads about notifications: counts and progress from the delivery rows."""

from django.db.models import Count

from notifications.models import Delivery, Notification


def delivery_counts(notification_id: int) -> dict:
    """Deliveries of a notification by status, plus the total (one GROUP BY)."""
    counts = dict(Delivery.objects.filter(notification_id=notification_id).order_by()
                  .values_list("status").annotate(n=Count("pk")))
    counts = {status: counts.get(status, 0) for status in Delivery.Status.values}
    counts["total"] = sum(counts.values())
    return counts


def notification_progress(notification: Notification) -> dict:
    """Counts by delivery status and percentages for the progress bar."""
    counts = delivery_counts(notification.pk)
    total = counts["total"] or 1
    return {
        "status": notification.status,
        "status_display": notification.get_status_display(),
        "counts": counts,
        "percent": {key: round(100.0 * counts[key] / total, 2)
                    for key in ("sent", "failed", "skipped", "pending", "sending")},
        "done": notification.status not in (Notification.Status.SENDING,
                                            Notification.Status.SCHEDULED),
    }
