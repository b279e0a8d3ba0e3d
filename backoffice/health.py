"""Health for each audience, as JSON (503 names what is down):

- GET /livez: the web process answers; nothing else is checked (process supervisors).
- GET /readyz: this web host reaches its database and Redis (load balancers); never
  depends on workers or beat, so their trouble never takes the web tier out of service.
- GET /healthz: the whole system, workers and beat included (monitoring, staff).

Error texts and worker host names are for staff; anonymous callers get verdicts only.
"""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from operations.health import health_report, readiness_report


def _staff(request) -> bool:
    return request.user.is_authenticated and request.user.is_staff


def _answer(report: dict) -> JsonResponse:
    return JsonResponse(report, status=503 if report["failing"] else 200)


@never_cache
@require_GET
def livez(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    return _answer(readiness_report(details=_staff(request)))


@never_cache
@require_GET
def healthz(request):
    return _answer(health_report(details=_staff(request)))
