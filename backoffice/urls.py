"""Top-level URLs: the admin, the health checks, and each app's routes."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import admin_login, email_change_page, password_reset_page
from backoffice.health import healthz, livez, readyz
from operations.metrics import metrics, ops_auth

admin.site.index_title = "Dashboard"


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (a plain 404, a JSON
    answer); the static URL is looked up per request, so it follows the manifest."""
    return HttpResponseRedirect(static("backoffice/img/favicon.svg"))

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("metrics", metrics, name="metrics"),
    path("ops/auth", ops_auth, name="ops_auth"),
    path("admin/login/", admin_login, name="admin-login"),  # throttled; before the admin's own
    path("account/reset/", password_reset_page, name="password-reset-page"),
    path("account/email/confirm/", email_change_page, name="email-change-page"),
    path("account/email/undo/", email_change_page, {"undo": True}, name="email-undo-page"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api-schema", template_name="backoffice/api_docs.html"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("email/", include("notifications.urls")),
]
