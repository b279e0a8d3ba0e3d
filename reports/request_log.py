"""A per-process buffer that writes logged API requests in batches off the request path.

Requests append a tuple (a lock-free deque append); a daemon thread writes what has
accumulated every API_REQUEST_LOG_FLUSH_SECONDS (sooner when a batch fills) with one
executemany. Nothing is dropped silently:
- a failed write is logged and its rows are kept for the next flush;
- rows beyond API_REQUEST_LOG_MAX_BUFFER (the database stayed down) are dropped oldest
  first, and how many is logged as an error;
- the buffer is flushed when the process exits normally (gunicorn's graceful stop).
A process killed with SIGKILL loses at most one interval of rows.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque

from django.db import connection

from reports.services import api_requests_write

logger = logging.getLogger(__name__)

BATCH = 500


class RequestLogBuffer:
    def __init__(self, *, interval: float, max_rows: int):
        self.interval = interval
        self.max_rows = max_rows
        self.rows: deque[tuple] = deque()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._pid: int | None = None

    def add(self, row: tuple) -> None:
        if self._pid != os.getpid():  # first use in this (possibly forked) process
            self._start()
        self.rows.append(row)
        if len(self.rows) >= BATCH:
            self._wake.set()

    def _start(self) -> None:
        with self._flush_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._loop, name="api-request-log", daemon=True).start()
            atexit.register(self.flush)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write everything buffered now; returns the number of rows written."""
        with self._flush_lock:
            written = 0
            while self.rows:
                batch = []
                while self.rows and len(batch) < BATCH:
                    batch.append(self.rows.popleft())
                try:
                    written += api_requests_write(rows=batch)
                except Exception:
                    if not connection.in_atomic_block:
                        connection.close()  # maybe broken; the next flush reconnects
                    self.rows.extendleft(reversed(batch))
                    logger.exception("could not write %d API request log rows; keeping them",
                                     len(self.rows))
                    self._trim()
                    break
            return written

    def _trim(self) -> None:
        dropped = 0
        while len(self.rows) > self.max_rows:
            self.rows.popleft()
            dropped += 1
        if dropped:
            logger.error("API request log buffer full: dropped the %d oldest rows", dropped)
