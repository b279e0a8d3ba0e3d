"""`python -m bench middleware`: the cost of the API request log middleware.

Gunicorn serves `GET /api/public/` over loopback under the production settings, once with
the logging middleware ("ours") and once without it ("bare": API_REQUEST_LOG_ENABLED=false
removes it from the chain), with the Procfile's process model (gthread, 2 workers x 4
threads, --preload) and the bench's own SQLite database (or DATABASE_URL). The figure
judged is CPU: the seconds used by every process of the servers (master and workers, all
their threads, the request log's writer included) per 1,000 requests, from after the
warm-up to the end of the graceful stop, whose exit flush it includes. Target: ours <= 1.05
x bare, and every request the "ours" servers answered is a row in the database at the end.
The wall-clock medians of many short alternating runs are reported beside it.
BENCH_MIDDLEWARE_AA=1 runs it with the middleware off in both kinds (an A/A calibration).

The client is ApacheBench (`ab`, Debian's apache2-utils) when it is on PATH: a C client
uses a fraction of the CPU a Python one does, so on a 2-core machine the servers' own cost
dominates the timing. Without it, Python threads with http.client do the same work.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import CLOCK_TICKS, child_pids, cpu_seconds

BASE_DIR = Path(__file__).resolve().parent.parent
PATH = "/api/public/"
READY_PATH = "/"  # a redirect to the admin: not logged, renders no template
DEFAULT_REQUESTS = 2000
REPEATS = 81  # rounds at the default size; a smaller --size runs proportionally fewer
MIN_REPEATS = 8
CONCURRENCY = 4
WORKERS = 2
THREADS = 4
INSTANCES = 4  # servers of each kind, taking turns
KINDS = ("ours", "bare")
HASH_SEED = str(random.randrange(2**32))
SECRET_KEY = secrets.token_urlsafe(48)
# An A/A run: both kinds without the middleware, to see the instrument's own error.
CALIBRATE = os.environ.get("BENCH_MIDDLEWARE_AA") == "1"
WARMUP = 300
TARGET = 1.05
MAX_RERUNS = 20
FLUSH_SECONDS = 1.0  # the writer's default interval, set so that no .env changes it
# A pause after every run, longer than the writer's interval: a run's last rows are
# written before the next run starts, so they cost no other server wall time.
SETTLE_SECONDS = FLUSH_SECONDS + 0.5
MIN_WORKER_SHARE = 0.15  # of the run's worker CPU, for each of the two workers
STOP_SECONDS = 30
AB = shutil.which("ab")  # ApacheBench, when installed


@dataclass(frozen=True)
class Server:
    kind: str
    process: subprocess.Popen
    port: int
    workers: list[int]
    log: Path


def say(message: str) -> None:
    print(f"[bench middleware] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(database_url: str, log_enabled: bool) -> dict[str, str]:
    return {
        **os.environ,
        # One string-hash seed for every server of a run: with a random one each, dict
        # layouts differed per process and so did speed, by a few percent between
        # identical servers.
        "PYTHONHASHSEED": HASH_SEED,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP over loopback
        "DATABASE_URL": database_url,
        # Nothing on the measured path uses Redis; anything else stays in the bench's database.
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"),
        "API_REQUEST_LOG_ENABLED": "true" if log_enabled else "false",
        "API_REQUEST_LOG_FLUSH_SECONDS": str(FLUSH_SECONDS),
    }


def server_cpu(server: Server) -> float:
    return sum(cpu_seconds(pid, reaped=True) for pid in (server.process.pid, *server.workers))


def answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", READY_PATH)
        return connection.getresponse().status < 400
    except OSError:
        return False
    finally:
        connection.close()


def start_server(kind: str, database_url: str, workdir: Path) -> Server:
    port = free_port()
    log = workdir / f"gunicorn-{kind}-{port}.log"
    logged = kind == "ours" and not CALIBRATE
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "backoffice.wsgi",
             "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--threads", str(THREADS),
             "--worker-class", "gthread", "--preload", "--graceful-timeout", "5",
             "--log-level", "warning"],
            cwd=BASE_DIR, env=server_env(database_url, logged), stdout=subprocess.DEVNULL,
            stderr=stderr, start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        workers = child_pids(process.pid)
        if len(workers) == WORKERS and answers(port):
            return Server(kind, process, port, workers, log)
        time.sleep(0.2)
    kill(process)
    raise RuntimeError(f"gunicorn ({kind}) did not start on port {port}:\n"
                       f"{log.read_text()[-2000:]}")


def hammer(port: int, total: int, concurrency: int) -> float:
    """Send `total` GETs over `concurrency` keep-alive connections; return wall seconds."""
    if AB:
        return ab(port, total, concurrency)
    per_thread = [total // concurrency + (1 if i < total % concurrency else 0)
                  for i in range(concurrency)]
    errors: list[str] = []
    start = threading.Barrier(concurrency + 1)

    def client(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        for _ in range(count):
            try:
                connection.request("GET", PATH)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"status {response.status}")
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in per_thread]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return elapsed


def ab(port: int, total: int, concurrency: int) -> float:
    """The same as the Python client, with ApacheBench; fails on any error or non-2xx."""
    result = subprocess.run(
        [AB, "-q", "-k", "-n", str(total), "-c", str(concurrency),
         f"http://127.0.0.1:{port}{PATH}"], capture_output=True, text=True, check=False)
    taken = re.search(r"Time taken for tests:\s+([\d.]+) seconds", result.stdout)
    complete = re.search(r"Complete requests:\s+(\d+)", result.stdout)
    failed = re.search(r"Failed requests:\s+(\d+)", result.stdout)
    if (result.returncode or not taken or not complete or int(complete.group(1)) != total
            or not failed or int(failed.group(1)) or "Non-2xx" in result.stdout):
        raise RuntimeError(f"ab failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return float(taken.group(1))


def timed_run(server: Server, total: int) -> tuple[float, bool]:
    """One run and the settling pause after it; returns (seconds, every worker had a share)."""
    before = [cpu_seconds(pid, reaped=True) for pid in server.workers]
    elapsed = hammer(server.port, total, CONCURRENCY)
    used = [cpu_seconds(pid, reaped=True) - start
            for pid, start in zip(server.workers, before, strict=True)]
    time.sleep(SETTLE_SECONDS)
    return elapsed, min(used) >= MIN_WORKER_SHARE * sum(used)


def start_servers(database_url: str, workdir: Path) -> dict[str, list[Server]]:
    """INSTANCES servers of each kind, warmed up; instance i of each kind form round pair i."""
    servers: dict[str, list[Server]] = {kind: [] for kind in KINDS}
    for pair in range(INSTANCES):
        # Which kind starts (and warms up) first alternates too: identical servers timed
        # against each other came out 1-2% apart in favour of the one started second.
        for kind in KINDS if pair % 2 == 0 else reversed(KINDS):
            server = start_server(kind, database_url, workdir)
            servers[kind].append(server)
            hammer(server.port, WARMUP, CONCURRENCY)
    return servers


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the server's whole process group (master and workers) and reap the master."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop_servers(servers: list[Server]) -> dict[int, float]:
    """Stop every server gracefully at once; returns each one's lifetime CPU seconds by port.

    SIGTERM is gunicorn's graceful stop: each worker finishes, flushes its buffer on exit
    and is reaped by the master. os.wait4 on the master then reports the master's own CPU
    plus that of the workers it reaped, every thread and the exit flush included.
    """
    for server in servers:
        server.process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    used = {}
    for server in servers:
        while True:
            pid, status, usage = os.wait4(server.process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn ({server.kind}) did not stop in {STOP_SECONDS}s")
            time.sleep(0.05)
        server.process.returncode = os.waitstatus_to_exitcode(status)
        if server.process.returncode:
            raise RuntimeError(f"gunicorn ({server.kind}) exited with "
                               f"{server.process.returncode}:\n{server.log.read_text()[-2000:]}")
        used[server.port] = usage.ru_utime + usage.ru_stime
    return used


def manage(env: dict[str, str], *argv: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *argv], cwd=BASE_DIR, check=True,
                          env=env, capture_output=True, text=True).stdout


def query_log(env: dict[str, str], expression: str) -> int:
    """An integer from `expression` over `rows` (ApiRequest.objects), in the servers' database."""
    out = manage(env, "shell", "-c", "from reports.models import ApiRequest; "
                 f"rows = ApiRequest.objects; print({expression})")
    return int(out.split()[-1])


def measure(servers: dict[str, list[Server]], requests: int, rounds: int
            ) -> tuple[dict[str, list[float]], list[int]]:
    """The alternating timed rounds; returns (run seconds by kind, rounds played by pair).

    A keep-alive connection stays with the worker that accepted it, and the accept race
    sometimes hands all of the client's connections to one worker: that run times one
    process on one core (about 2.5x slower here, a tenth to a fifth of runs), not the
    process model under test. A round with such a run is played again, both runs, so both
    kinds serve the same requests, over which their idle and stop CPU is spread.
    """
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    played = [0] * INSTANCES
    for repeat in range(rounds):
        pair = repeat % INSTANCES
        # Each pair runs "ours" first in half of its rounds.
        order = KINDS if (repeat // INSTANCES) % 2 == 0 else tuple(reversed(KINDS))
        for _ in range(MAX_RERUNS + 1):
            played[pair] += 1
            runs = {kind: timed_run(servers[kind][pair], requests) for kind in order}
            if all(balanced for _, balanced in runs.values()):
                break
        else:
            raise RuntimeError(f"{MAX_RERUNS + 1} rounds in a row left a worker idle")
        for kind in KINDS:
            times[kind].append(runs[kind][0])
        if repeat % 10 == 9 or repeat == rounds - 1:
            say(f"round {repeat + 1}/{rounds}: ours {times['ours'][-1]:.3f}s, "
                f"bare {times['bare'][-1]:.3f}s")
    return times, played


def run(size: int | None) -> dict:
    requests = size or DEFAULT_REQUESTS
    rounds = max(MIN_REPEATS, REPEATS * min(requests, DEFAULT_REQUESTS) // DEFAULT_REQUESTS)
    workdir = Path(tempfile.mkdtemp(prefix="bench-middleware-"))
    own_database = not os.environ.get("DATABASE_URL")
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = server_env(database_url, True)
    everyone: list[Server] = []
    try:
        say(f"migrating {workdir / 'bench.sqlite3' if own_database else 'DATABASE_URL'}")
        manage(env, "migrate", "--noinput", "-v", "0")
        last_id = query_log(env, "rows.order_by('-id').values_list('id', flat=True).first() or 0")
        # The log writer also counts requests per minute: from this minute on, they are ours.
        first_minute = time.strftime("%Y-%m-%dT%H:%M:00+00:00", time.gmtime())
        say(f"starting {INSTANCES} servers of each kind (production settings)")
        servers = start_servers(database_url, workdir)
        everyone = [server for kind in KINDS for server in servers[kind]]
        time.sleep(SETTLE_SECONDS)  # the warm-ups' rows are written before the count starts
        # Every server's count starts and ends at the same moment, so each kind is charged
        # the same idle time (the other kind's turns, the pauses).
        start_cpu = {server.port: server_cpu(server) for server in everyone}
        times, played = measure(servers, requests, rounds)
        if any(child_pids(server.process.pid) != server.workers for server in everyone):
            raise RuntimeError("a gunicorn worker was replaced during the runs")
        before_stop = {server.port: server_cpu(server) for server in everyone}
        used = stop_servers(everyone)
        logged = query_log(env, f"rows.filter(id__gt={last_id}).count()")
        if not own_database:
            query_log(env, f"rows.filter(id__gt={last_id}).delete()[0]")
            manage(env, "shell", "-c", "from django.utils.dateparse import parse_datetime; "
                   "from reports.models import RequestMinute; print(RequestMinute.objects"
                   f".filter(minute__gte=parse_datetime({first_minute!r})).delete()[0])")
    finally:
        for server in everyone:
            if server.process.returncode is None:
                kill(server.process)
        shutil.rmtree(workdir, ignore_errors=True)
    # The accounting check: wait4's total can only exceed the last /proc reading (by the
    # stop's own work), give or take one clock tick per process read.
    slack = (1 + WORKERS) / CLOCK_TICKS
    for server in everyone:
        if used[server.port] < before_stop[server.port] - slack:
            raise RuntimeError(f"wait4 reported {used[server.port]:.2f}s CPU for a server that "
                               f"/proc put at {before_stop[server.port]:.2f}s before its stop")

    def total(kind: str, figures: dict[int, float]) -> float:
        return sum(figures[server.port] for server in servers[kind])

    answered = requests * sum(played)  # by each kind
    cost = {kind: total(kind, used) - total(kind, start_cpu) for kind in KINDS}
    stop = {kind: total(kind, used) - total(kind, before_stop) for kind in KINDS}
    per_1000 = {kind: 1000 * cost[kind] / answered for kind in KINDS}
    cpu_ratio = cost["ours"] / cost["bare"]

    def server_cost(server: Server) -> float:
        return used[server.port] - start_cpu[server.port]

    cpu_per_pair = [round(server_cost(ours) / server_cost(bare), 3)
                    for ours, bare in zip(servers["ours"], servers["bare"], strict=True)]
    # Every /api/ request the "ours" servers answered: the warm-ups and the runs (none in
    # an A/A run, where they have no middleware).
    expected = 0 if CALIBRATE else WARMUP * INSTANCES + answered
    ours, bare = statistics.median(times["ours"]), statistics.median(times["bare"])
    ratio = ours / bare
    # Each round runs both back to back, so the per-round ratio cancels slow drifts in the
    # machine's background load; its median is the steadier wall-clock figure.
    per_round = [o / b for o, b in zip(times["ours"], times["bare"], strict=True)]
    paired = statistics.median(per_round)
    per_pair = [round(statistics.median(per_round[pair::INSTANCES]), 3)
                for pair in range(INSTANCES)]
    say(f"CPU per 1,000 requests: ours {per_1000['ours']:.4f}s, bare {per_1000['bare']:.4f}s, "
        f"ratio {cpu_ratio:.3f} (target <= {TARGET}); wall median of {rounds}: ratio "
        f"{ratio:.3f}, paired {paired:.3f}; {logged} of {expected} requests logged")
    return {
        "bench": "middleware",
        "mode": "A/A calibration (no middleware in either)" if CALIBRATE else "A/B",
        "settings": "backoffice.settings.prod",
        # CPU seconds of the servers' processes per 1,000 requests answered.
        "cpu_seconds": {kind: round(per_1000[kind], 4) for kind in KINDS},
        "cpu_ratio": round(cpu_ratio, 4),
        "cpu_ratio_per_server_pair": cpu_per_pair,
        "seconds": {"ours": round(ours, 4), "bare": round(bare, 4)},
        "ratio": round(ratio, 4),
        "paired_ratio": round(paired, 4),
        "paired_ratio_per_server_pair": per_pair,
        "target_ratio": TARGET,
        # The CPU ratio, and no row lost (None in an A/A run: no middleware to judge).
        "meets_target": None if CALIBRATE else cpu_ratio <= TARGET and logged == expected,
        "requests_per_run": requests,
        "repeats": rounds,
        "requests_measured_per_kind": answered,
        "rounds_repeated_one_worker_idle": sum(played) - rounds,
        "servers_per_kind": INSTANCES,
        "concurrency": CONCURRENCY,
        "client": "ab (ApacheBench)" if AB else "python http.client threads",
        "server": f"gunicorn gthread, {WORKERS} workers x {THREADS} threads, --preload, loopback",
        "flush_seconds": FLUSH_SECONDS,
        "database": "sqlite" if database_url.startswith("sqlite") else "postgresql",
        "rows_logged": logged,
        "rows_expected": expected,
        # The graceful stops (exit flush, interpreter shutdown; wait4 less the last /proc
        # reading): inside cpu_seconds, alike in both kinds, so they dilute the difference.
        "cpu_seconds_in_stop": {kind: round(stop[kind], 3) for kind in KINDS},
        "cpu_ratio_excluding_stop": round(
            (cost["ours"] - stop["ours"]) / (cost["bare"] - stop["bare"]), 4),
    }

