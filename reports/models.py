"""The API request log: the raw data the reports aggregate."""

from django.conf import settings
from django.db import models


class ApiRequest(models.Model):
    """One `/api/` request as the logging middleware saw it."""

    timestamp = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=10)
    route = models.CharField(
        max_length=255, help_text="URL pattern, e.g. /api/users/<int:pk>/, not the raw path"
    )
    status_code = models.PositiveSmallIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="api_requests", db_constraint=False,
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    duration_ms = models.FloatField()

    class Meta:
        ordering = ["-timestamp"]
        verbose_name = "API request"
        verbose_name_plural = "API requests"
        # Each admin filter is "equals X, newest first". Every index costs each logged
        # request a B-tree insert, so the status and method indexes are partial: they hold
        # only the rare rows (errors, non-GET) that a scan of the timestamp index would not
        # find quickly; the common ones (2xx, GET) are found by that scan.
        indexes = [
            models.Index(fields=["route", "-timestamp"], name="reports_apireq_route_ts"),
            models.Index(fields=["status_code", "-timestamp"], name="reports_apireq_error_ts",
                         condition=models.Q(status_code__gte=400)),
            models.Index(fields=["method", "-timestamp"], name="reports_apireq_method_ts",
                         condition=~models.Q(method="GET")),
        ]

    def __str__(self):
        return f"{self.method} {self.route} {self.status_code}"
