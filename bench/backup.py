"""backup_database over 1,000,000 API log rows vs `manage.py dumpdata ... | gzip`, and on
PostgreSQL also vs `pg_dump -Fc` of the same tables.

Both sides are timed the same way: a fresh process (`python -m bench._child backup`, and a
shell running `manage.py dumpdata ... | gzip -<BACKUP_COMPRESS_LEVEL>`) from interpreter
start to exit, as wall seconds (`seconds`) and as user + system CPU of every process
involved (`cpu_seconds`), compressing at the same gzip level. `peak_mb.ours_100k` and
`peak_mb.ours_1m` are the backup process's own peak memory at 100k and at 1M rows: flat
memory means they stay close. `seconds.ours_job` is the backup alone inside that process
(Django's start left out, as pg_dump has none to speak of): the figure to hold against
`seconds.pg_dump`, which times `pg_dump -Fc` of the backup's tables in the same run. Runs on
SQLite, or on PostgreSQL via DATABASE_URL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.cleanup import insert
from bench.common import require_empty, timed_run
from maintenance.backups import backup_models
from maintenance.models import Backup
from reports.models import ApiRequest

BASE_DIR = Path(__file__).resolve().parent.parent


def _dumpdata_labels() -> list[str]:
    """The backup's models, minus auto-created m2m tables (dumpdata nests those)."""
    return [m._meta.label for m in backup_models(include_api_log=True)
            if not m._meta.auto_created]


def _ours() -> dict:
    """A backup (API log included) in a fresh process: time, CPU, its own peak memory."""
    done, seconds, cpu = timed_run([sys.executable, "-m", "bench._child", "backup"],
                                   cwd=BASE_DIR, capture_output=True, text=True)
    reported = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": reported["peak_mb"],
            "job_seconds": reported["seconds"], "result": reported["result"]}


def _pg_dump(target: Path) -> dict:
    """`pg_dump -Fc` of the backup's tables (API log included), in a fresh process."""
    config = connection.settings_dict
    tables = [arg for m in backup_models(include_api_log=True)
              for arg in ("-t", m._meta.db_table)]
    env = {**os.environ, "PGPASSWORD": config["PASSWORD"] or ""}
    argv = ["pg_dump", "-Fc", "-h", config["HOST"] or "127.0.0.1",
            "-p", str(config["PORT"] or 5432), "-U", config["USER"] or "postgres",
            "-f", str(target), *tables, config["NAME"]]
    _, seconds, cpu = timed_run(argv, cwd=BASE_DIR, env=env)
    return {"seconds": seconds, "cpu_seconds": cpu, "size_bytes": target.stat().st_size}


def _dumpdata_gzip(target: Path) -> dict:
    """`manage.py dumpdata | gzip` at the backup's compression level, in fresh processes."""
    command = (f"{shlex.quote(sys.executable)} manage.py dumpdata "
               f"{' '.join(_dumpdata_labels())} "
               f"| gzip -{settings.BACKUP_COMPRESS_LEVEL} > {shlex.quote(str(target))}")
    _, seconds, cpu = timed_run(["bash", "-o", "pipefail", "-c", command], cwd=BASE_DIR)
    return {"seconds": seconds, "cpu_seconds": cpu, "size_bytes": target.stat().st_size}


def run(size: int | None) -> dict:
    large = size or 1_000_000
    small = max(1, large // 10)
    now = timezone.now() - dt.timedelta(days=1)
    scratch = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    # The children inherit this process's environment: its settings module, database and
    # Redis, and this scratch BACKUP_DIR.
    os.environ["BACKUP_DIR"] = str(scratch / "backups")
    require_empty(ApiRequest)
    try:
        print(f"{connection.vendor}: inserting {small} rows", flush=True)
        insert(small, 0, now)
        at_small = _ours()
        print(f"  {small} rows: {at_small['seconds']}s, peak {at_small['peak_mb']} MB",
              flush=True)
        print(f"  inserting up to {large} rows", flush=True)
        insert(large - small, 0, now)
        at_large = _ours()
        assert at_large["result"]["rows"] >= large, at_large
        print(f"  {large} rows: {at_large['seconds']}s ({at_large['cpu_seconds']}s CPU), "
              f"peak {at_large['peak_mb']} MB, {at_large['result']['size_bytes']} bytes",
              flush=True)
        print(f"  of which the backup itself: {at_large['job_seconds']}s", flush=True)
        pg_dump = None
        if connection.vendor == "postgresql":
            pg_dump = _pg_dump(scratch / "pg_dump.custom")
            print(f"  pg_dump -Fc: {pg_dump['seconds']}s ({pg_dump['cpu_seconds']}s CPU), "
                  f"{pg_dump['size_bytes']} bytes", flush=True)
        dumpdata = _dumpdata_gzip(scratch / "dumpdata.json.gz")
        print(f"  dumpdata | gzip -{settings.BACKUP_COMPRESS_LEVEL}: {dumpdata['seconds']}s "
              f"({dumpdata['cpu_seconds']}s CPU), {dumpdata['size_bytes']} bytes", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        os.environ.pop("BACKUP_DIR", None)
        ApiRequest.objects.all().delete()  # all ours: the table started empty
        Backup.objects.filter(triggered_by="bench").delete()
    result = {
        "bench": "backup",
        "database": connection.vendor,
        "timed": "fresh process, interpreter start to exit",
        "seconds": {"ours": at_large["seconds"], "ours_job": at_large["job_seconds"],
                    "dumpdata": dumpdata["seconds"]},
        "cpu_seconds": {"ours": at_large["cpu_seconds"], "dumpdata": dumpdata["cpu_seconds"]},
        "peak_mb": {"ours_100k": at_small["peak_mb"], "ours_1m": at_large["peak_mb"]},
        "ratio": {"ours_vs_dumpdata": round(at_large["seconds"] / dumpdata["seconds"], 3),
                  "cpu_ours_vs_dumpdata": round(at_large["cpu_seconds"]
                                                / dumpdata["cpu_seconds"], 3),
                  "peak_1m_vs_100k": round(at_large["peak_mb"] / at_small["peak_mb"], 3)},
        "size": {"rows": large, "compress_level": settings.BACKUP_COMPRESS_LEVEL,
                 "bytes": {"ours": at_large["result"]["size_bytes"],
                           "dumpdata": dumpdata["size_bytes"]}},
    }
    if pg_dump is not None:
        result["seconds"]["pg_dump"] = pg_dump["seconds"]
        result["cpu_seconds"]["pg_dump"] = pg_dump["cpu_seconds"]
        result["size"]["bytes"]["pg_dump"] = pg_dump["size_bytes"]
        result["ratio"]["ours_vs_pg_dump"] = round(at_large["seconds"] / pg_dump["seconds"], 3)
        result["ratio"]["ours_job_vs_pg_dump"] = round(at_large["job_seconds"]
                                                       / pg_dump["seconds"], 3)
    return result
