"""GET /healthz: JSON state of database, Redis, workers and beat; 503 names what is down."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from maintenance.selectors import system_health


@never_cache
@require_GET
def healthz(request):
    report = system_health()
    if not (request.user.is_authenticated and request.user.is_staff):
        # Worker host names are for staff; load balancers only need the verdicts.
        report["checks"]["workers"].pop("names", None)
    return JsonResponse(report, status=503 if report["failing"] else 200)
