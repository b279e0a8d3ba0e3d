"""GET /metrics (Prometheus text) and GET /ops/auth (the gate in front of Flower).

/metrics is allowed for a staff user's API token (`Authorization: Token <key>`), a staff
session, or a client address in OPS_METRICS_ALLOWED_IPS; everyone else gets 403.
/ops/auth answers a reverse proxy's `auth_request`: 204 for a staff session that may view
the console when the original request only reads, and for superusers always.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from operations.selectors import metrics_snapshot

VIEW_PERMISSION = "operations.view_taskrun"


def _token_user(request):
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not key.strip():
        return None
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key.strip()).first()
    return token.user if token else False


def _ip_allowed(address: str) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in settings.OPS_METRICS_ALLOWED_IPS:
        try:
            if client in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def metrics_allowed(request) -> bool:
    token_user = _token_user(request)
    if token_user is False:
        return False
    user = token_user or request.user
    if user.is_authenticated and user.is_active and user.is_staff:
        return user.has_perm(VIEW_PERMISSION)
    return _ip_allowed(request.META.get("REMOTE_ADDR", ""))


class SnapshotCollector:
    def __init__(self, snapshot: dict):
        self.snapshot = snapshot

    def collect(self):
        s = self.snapshot
        up = GaugeMetricFamily("backoffice_broker_up", "1 when Redis (the broker) answers")
        up.add_metric([], 1 if s["broker_up"] else 0)
        yield up
        depth = GaugeMetricFamily("backoffice_queue_depth", "Messages waiting in a queue",
                                  labels=["queue"])
        for queue, value in sorted(s["depths"].items()):
            depth.add_metric([queue], value)
        yield depth
        if s["workers_online"] is not None:
            workers = GaugeMetricFamily("backoffice_workers_online", "Workers with a fresh "
                                        "heartbeat")
            workers.add_metric([], s["workers_online"])
            yield workers
        if s["beat_last_tick"]:
            beat = GaugeMetricFamily("backoffice_beat_last_tick_timestamp_seconds",
                                     "Epoch seconds of beat's last tick")
            beat.add_metric([], s["beat_last_tick"])
            yield beat
        finished = GaugeMetricFamily("backoffice_task_runs_finished_24h", "Task runs finished "
                                     "in the last 24 hours", labels=["queue", "state"])
        runtime_sum = GaugeMetricFamily("backoffice_task_runtime_seconds_sum_24h",
                                        "Total runtime of runs finished in the last 24 hours",
                                        labels=["queue"])
        runtime_count = GaugeMetricFamily("backoffice_task_runtime_seconds_count_24h",
                                          "Runs with a measured runtime, last 24 hours",
                                          labels=["queue"])
        for row in sorted(s["per_queue"], key=lambda r: r["queue"]):
            finished.add_metric([row["queue"], "SUCCESS"], row["ok"] or 0)
            finished.add_metric([row["queue"], "FAILURE"], row["bad"] or 0)
            runtime_sum.add_metric([row["queue"]], row["rt"] or 0.0)
            runtime_count.add_metric([row["queue"]], row["n"] or 0)
        yield from (finished, runtime_sum, runtime_count)
        in_flight = GaugeMetricFamily("backoffice_task_runs_in_flight", "Runs queued in the "
                                      "last 24 hours that have not finished, by state",
                                      labels=["state"])
        for state in ("QUEUED", "STARTED", "RETRY"):
            in_flight.add_metric([state], s["in_flight"].get(state, 0))
        yield in_flight


@never_cache
@require_GET
def metrics(request):
    if not metrics_allowed(request):
        return HttpResponse("Forbidden: use a staff API token or an allowed address.\n",
                            status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(metrics_snapshot()))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


READ_METHODS = {"GET", "HEAD", "OPTIONS"}


@never_cache
def ops_auth(request):
    """nginx `auth_request` target: may this session see (or press) Flower?"""
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return HttpResponse(status=401)
    method = request.headers.get("X-Original-Method", request.method).upper()
    if user.is_superuser or (method in READ_METHODS and user.has_perm(VIEW_PERMISSION)):
        return HttpResponse(status=204)
    return HttpResponse(status=403)
