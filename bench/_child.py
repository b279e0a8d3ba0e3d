"""Run one maintenance job in a fresh process and print its time and peak memory as JSON.

`python -m bench._child backup` or `python -m bench._child cleanup DAYS`; the parent
benchmark reads the last line. Peak memory is this process's own maximum RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.bench")
    import django

    django.setup()
    started = time.perf_counter()
    if argv[0] == "backup":
        from maintenance.services import backup_create

        backup = backup_create(triggered_by="bench", include_api_log=True)
        result = {"rows": backup.total_rows, "size_bytes": backup.size_bytes,
                  "file": backup.file_name}
    elif argv[0] == "cleanup":
        from maintenance.tasks import cleanup_old_logs

        result = cleanup_old_logs.apply(kwargs={"days": int(argv[1])}).get()
    else:
        raise SystemExit(f"unknown job {argv[0]!r}")
    seconds = time.perf_counter() - started
    peak_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps({"seconds": round(seconds, 3), "peak_mb": peak_mb, "result": result}))


if __name__ == "__main__":
    main(sys.argv[1:])
