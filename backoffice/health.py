"""GET /healthz: JSON state of database, Redis, workers and beat; 503 names what is down."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from maintenance.health import health_report


@never_cache
@require_GET
def healthz(request):
    # Error texts and worker host names are for staff; load balancers only need verdicts.
    staff = request.user.is_authenticated and request.user.is_staff
    report = health_report(details=staff)
    return JsonResponse(report, status=503 if report["failing"] else 200)
