"""GET /healthz through the real database, Redis, worker and beat."""

import time

import pytest
import redis
from django.conf import settings

from maintenance.broker import BEAT_HEARTBEAT_KEY
from tests.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_beat_heartbeat(timeout=45):
    client = redis.Redis.from_url(settings.REDIS_URL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(BEAT_HEARTBEAT_KEY):
            return
        time.sleep(0.2)
    raise AssertionError("beat wrote no heartbeat")


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


def test_broker_on_closed_port_answers_503_naming_redis(client, settings):
    point_at(settings, f"redis://127.0.0.1:{free_port()}/0")

    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    report = response.json()
    assert "redis" in report["failing"]
    assert report["checks"]["redis"]["ok"] is False
    assert "Connection" in report["checks"]["redis"]["error"]
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["workers"]["error"] == "broker unreachable"
    print(f"healthz answered in {elapsed:.2f}s with the broker down")


def test_no_worker_and_no_beat_are_named(client, settings):
    # An empty Redis database: it answers, but no worker or beat uses it.
    empty = settings.REDIS_URL.rsplit("/", 1)[0] + "/14"
    redis.Redis.from_url(empty).delete(BEAT_HEARTBEAT_KEY)
    point_at(settings, empty)

    response = client.get("/healthz")

    assert response.status_code == 503
    report = response.json()
    assert report["failing"] == ["workers", "beat"]
    assert "no worker answered" in report["checks"]["workers"]["error"]
    assert report["checks"]["beat"]["error"] == "beat has never ticked"


def test_stale_beat_heartbeat_is_reported(client, settings):
    empty = settings.REDIS_URL.rsplit("/", 1)[0] + "/14"
    stale = time.time() - settings.BEAT_HEARTBEAT_MAX_AGE - 30
    redis.Redis.from_url(empty).set(BEAT_HEARTBEAT_KEY, stale, ex=60)
    point_at(settings, empty)

    beat = client.get("/healthz").json()["checks"]["beat"]

    assert beat["ok"] is False and "ago" in beat["error"]


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405
