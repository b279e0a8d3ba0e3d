"""Top-level URLs: the admin, the health check, and each app's routes."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from backoffice.health import healthz
from maintenance.ops.metrics import metrics, ops_auth

admin.site.index_title = "Dashboard"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("ops/auth", ops_auth, name="ops_auth"),
    path("admin/", admin.site.urls),
]
