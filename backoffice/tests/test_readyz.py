"""/livez and /readyz: the process answers; this web host reaches its database and Redis.
Neither depends on workers or beat. In-process against the real Redis, and a gunicorn
under the development settings whose PostgreSQL and Redis are stopped under it."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import pytest

from operations.health import health_cache_clear
from tests.postgres import PrivatePostgres
from tests.processes import ManagedProcess, PrivateRedis, free_port, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_health_cache(settings):
    settings.HEALTH_CACHE_SECONDS = 0  # every call checks again: the tests stop things
    health_cache_clear()
    yield
    health_cache_clear()


def point_at(settings, url):
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url


def test_livez_answers_without_asking_anything(client, settings, django_assert_num_queries):
    point_at(settings, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens

    with django_assert_num_queries(0):
        response = client.get("/livez")

    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")
    assert client.post("/livez").status_code == 405


def test_readyz_stays_200_with_no_worker_and_no_beat(client, settings, private_redis):
    point_at(settings, private_redis.url)  # a Redis no worker or beat of this run uses

    ready, health = client.get("/readyz"), client.get("/healthz")

    assert ready.status_code == 200, ready.json()
    assert ready.json() == {"status": "ok", "failing": [], "checks": {
        "database": {"ok": True}, "redis": {"ok": True}}}
    assert health.status_code == 503
    assert {"workers", "beat"} <= set(health.json()["failing"])


def test_readyz_answers_503_when_redis_stops(client, admin_client, settings):
    redis = PrivateRedis(free_port()).start()
    try:
        point_at(settings, redis.url)
        assert client.get("/readyz").status_code == 200
        redis.stop()

        response = client.get("/readyz")
        staff = admin_client.get("/readyz").json()
    finally:
        redis.stop()

    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]
    assert "error" not in response.json()["checks"]["redis"]  # verdicts only for anonymous
    assert "Connection" in staff["checks"]["redis"]["error"]
    assert client.get("/livez").status_code == 200


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_a_web_host_whose_database_and_redis_stop(tmp_path):
    """gunicorn under the development settings (DEBUG on), on its own PostgreSQL and Redis:
    /readyz turns 503 naming the database, then Redis, as each stops; /livez stays 200."""
    try:
        database = PrivatePostgres().start()
    except (RuntimeError, KeyError, OSError) as exc:
        pytest.skip(f"no private PostgreSQL can be started here: {exc}")
    redis = PrivateRedis(free_port()).start()
    port = free_port()
    web = ManagedProcess(f"gunicorn-{port}", [
        sys.executable, "-m", "gunicorn", "backoffice.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--threads", "2"], subprocess_env(
            DJANGO_SETTINGS_MODULE="backoffice.settings.dev", DEBUG="true",
            DATABASE_URL=database.url, REDIS_URL=redis.url, HEALTH_CACHE_SECONDS="0",
            VAR_DIR=str(tmp_path / "var")))
    base = f"http://127.0.0.1:{port}"
    try:
        web.start()
        web.wait_answering(lambda: _answers(f"{base}/livez"), 60, "gunicorn")
        assert _get(f"{base}/readyz") == (200, {"status": "ok", "failing": [], "checks": {
            "database": {"ok": True}, "redis": {"ok": True}}})

        database.stop()
        status, report = _get(f"{base}/readyz")
        assert (status, report["failing"]) == (503, ["database"])
        assert _get(f"{base}/livez") == (200, {"status": "ok"})

        redis.stop()
        status, report = _get(f"{base}/readyz")
        assert (status, report["failing"]) == (503, ["database", "redis"])
        assert _get(f"{base}/livez") == (200, {"status": "ok"})
    finally:
        web.stop()
        redis.stop()
        database.remove()


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False
