"""backup_database over 1,000,000 API log rows vs `manage.py dumpdata ... | gzip`.

`seconds.ours` is a backup (API log included) in a fresh process; `seconds.dumpdata` is
dumpdata of the same models piped to gzip, in the same run. `peak_mb.ours_100k` and
`peak_mb.ours_1m` are the backup process's own peak memory at 100k and at 1M rows: flat
memory means they stay close. Runs on SQLite, or on PostgreSQL via DATABASE_URL.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.cleanup import child, insert
from bench.common import require_empty, stopwatch
from maintenance.backups import backup_models
from maintenance.models import Backup
from reports.models import ApiRequest

BASE_DIR = Path(__file__).resolve().parent.parent


def _dumpdata_labels() -> list[str]:
    """The backup's models, minus auto-created m2m tables (dumpdata nests those)."""
    return [m._meta.label for m in backup_models(include_api_log=True)
            if not m._meta.auto_created]


def _dumpdata_gzip(target: Path) -> float:
    command = (f"{sys.executable} manage.py dumpdata {' '.join(_dumpdata_labels())} "
               f"| gzip > {target}")
    with stopwatch() as elapsed:
        subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, cwd=BASE_DIR,
                       env={**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings.bench"})
    return round(elapsed(), 3)


def run(size: int | None) -> dict:
    large = size or 1_000_000
    small = max(1, large // 10)
    now = timezone.now() - dt.timedelta(days=1)
    scratch = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    os.environ["BACKUP_DIR"] = str(scratch / "backups")  # the children read it
    require_empty(ApiRequest)
    try:
        print(f"{connection.vendor}: inserting {small} rows", flush=True)
        insert(small, 0, now)
        at_small = child("backup")
        print(f"  {small} rows: {at_small['seconds']}s, peak {at_small['peak_mb']} MB",
              flush=True)
        print(f"  inserting up to {large} rows", flush=True)
        insert(large - small, 0, now)
        at_large = child("backup")
        assert at_large["result"]["rows"] >= large, at_large
        print(f"  {large} rows: {at_large['seconds']}s, peak {at_large['peak_mb']} MB, "
              f"{at_large['result']['size_bytes']} bytes", flush=True)
        dumpdata = _dumpdata_gzip(scratch / "dumpdata.json.gz")
        print(f"  dumpdata | gzip: {dumpdata}s, "
              f"{(scratch / 'dumpdata.json.gz').stat().st_size} bytes", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        os.environ.pop("BACKUP_DIR", None)
        ApiRequest.objects.all().delete()  # all ours: the table started empty
        Backup.objects.filter(triggered_by="bench").delete()
    return {
        "bench": "backup",
        "database": connection.vendor,
        "seconds": {"ours": at_large["seconds"], "dumpdata": dumpdata},
        "peak_mb": {"ours_100k": at_small["peak_mb"], "ours_1m": at_large["peak_mb"]},
        "ratio": {"ours_vs_dumpdata": round(at_large["seconds"] / dumpdata, 3),
                  "peak_1m_vs_100k": round(at_large["peak_mb"] / at_small["peak_mb"], 3)},
        "size": {"rows": large, "compress_level": settings.BACKUP_COMPRESS_LEVEL},
    }
