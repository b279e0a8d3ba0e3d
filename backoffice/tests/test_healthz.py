"""GET /healthz through the real database, Redis, worker and beat."""

import threading
import time

import pytest
import redis
from django.conf import settings

from operations import health_checks as selectors
from operations.beat import BEAT_HEARTBEAT_KEY
from operations.health import health_cache_clear
from tests.processes import free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_health_cache():
    health_cache_clear()
    yield
    health_cache_clear()


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(
        "watcher", "w@example.com", "pw-Watch-123", is_staff=True))
    return client


def wait_for_beat_heartbeat(timeout=45):
    """Wait for this test's beat to tick: a heartbeat an earlier test's beat left is dropped
    first (a running beat writes its own again within seconds)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(BEAT_HEARTBEAT_KEY)
    wait_until(lambda: client.get(BEAT_HEARTBEAT_KEY), timeout, "beat's heartbeat",
               interval=0.2)


def point_at(settings, url):
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url


def test_all_parts_up_answers_200(client, celery_worker, celery_beat):
    wait_for_beat_heartbeat()

    response = client.get("/healthz")

    assert response.status_code == 200, response.json()
    report = response.json()
    assert report["status"] == "ok" and report["failing"] == []
    assert report["checks"]["workers"]["count"] >= 1
    assert report["checks"]["beat"]["age_seconds"] < settings.BEAT_HEARTBEAT_MAX_AGE
    assert "names" not in report["checks"]["workers"]  # host names are for staff only


def test_staff_see_worker_names(client, celery_worker, admin_user):
    client.force_login(admin_user)

    report = client.get("/healthz").json()

    assert celery_worker.hostname in report["checks"]["workers"]["names"]


def test_broker_on_closed_port_answers_503_naming_redis(staff_client, settings):
    point_at(settings, f"redis://127.0.0.1:{free_port()}/0")

    started = time.monotonic()
    response = staff_client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    report = response.json()
    assert "redis" in report["failing"]
    assert report["checks"]["redis"]["ok"] is False
    assert "Connection" in report["checks"]["redis"]["error"]
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["workers"]["error"] == "broker unreachable"
    print(f"healthz answered in {elapsed:.2f}s with the broker down")


def test_no_worker_and_no_beat_are_named(staff_client, settings, private_redis):
    # An empty Redis: it answers, but no worker or beat uses it.
    point_at(settings, private_redis.url)

    response = staff_client.get("/healthz")

    assert response.status_code == 503
    report = response.json()
    assert report["failing"] == ["workers", "beat"]
    assert "no worker" in report["checks"]["workers"]["error"]
    assert report["checks"]["beat"]["error"] == "beat has never ticked"


def test_stale_beat_heartbeat_is_reported(staff_client, settings, private_redis):
    stale = time.time() - settings.BEAT_HEARTBEAT_MAX_AGE - 30
    redis.Redis.from_url(private_redis.url).set(BEAT_HEARTBEAT_KEY, stale, ex=60)
    point_at(settings, private_redis.url)

    beat = staff_client.get("/healthz").json()["checks"]["beat"]

    assert beat["ok"] is False and "ago" in beat["error"]


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


def test_anonymous_callers_get_verdicts_without_error_texts(client, settings):
    point_at(settings, f"redis://127.0.0.1:{free_port()}/0")

    report = client.get("/healthz").json()

    assert report["failing"] and "redis" in report["failing"]
    for name, check in report["checks"].items():
        assert "error" not in check and "names" not in check, name
    assert "127.0.0.1" not in str(report) and "Connection" not in str(report)


def test_checks_run_at_most_once_per_interval_per_process(client, settings, monkeypatch):
    settings.HEALTH_CACHE_SECONDS = 3600
    calls = []
    real = selectors.database_status
    monkeypatch.setattr(selectors, "database_status", lambda: calls.append(1) or real())

    for _ in range(5):
        client.get("/healthz")

    assert len(calls) == 1


def test_the_worker_ping_never_runs_in_the_request_thread(client, celery_worker, settings,
                                                          monkeypatch):
    pinged_in = []
    real = selectors.workers_status

    def recording(**kwargs):
        pinged_in.append(threading.current_thread())
        return real(**kwargs)

    monkeypatch.setattr(selectors, "workers_status", recording)

    first = client.get("/healthz").json()  # before any ping: the workers' heartbeats answer
    wait_until(lambda: pinged_in, what="the background ping")

    assert first["checks"]["workers"]["count"] >= 1
    assert pinged_in and all(t is not threading.current_thread() for t in pinged_in)
