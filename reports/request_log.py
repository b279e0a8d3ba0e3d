"""A per-process buffer that writes logged API requests in batches, off the request path.

Requests append a tuple (a lock-free deque append); a daemon thread of the same process
writes what has accumulated every API_REQUEST_LOG_FLUSH_SECONDS (sooner when many rows
wait) in one transaction of multi-row INSERTs. Nothing is dropped silently:
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

from reports.services import ROWS_PER_STATEMENT, api_requests_write

logger = logging.getLogger(__name__)

# A flush is due early when a statement's worth of rows waits. Otherwise rows are written
# once per interval, all in one transaction: a commit costs far more than a row (on SQLite
# several hundred rows' worth), so fewer, larger transactions keep the log cheap.
WAKE_AT_ROWS = ROWS_PER_STATEMENT


class RequestLogBuffer:
    def __init__(self, *, interval: float, max_rows: int):
        self.interval = interval
        self.max_rows = max_rows
        self.rows: deque[tuple] = deque()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._started = False
        # A forked child (a gunicorn worker) has no writer thread: it starts its own on
        # first use. Rows buffered before the fork are the parent's to write.
        os.register_at_fork(after_in_child=self._after_fork)

    def add(self, row: tuple) -> None:
        if not self._started:
            self._start()
        rows = self.rows
        rows.append(row)
        if len(rows) >= WAKE_AT_ROWS and not self._wake.is_set():
            self._wake.set()

    def _after_fork(self) -> None:
        self.rows.clear()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._started = False

    def _start(self) -> None:
        with self._flush_lock:
            if self._started:
                return
            self._started = True
            threading.Thread(target=self._loop, name="api-request-log", daemon=True).start()
            atexit.register(self.flush)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write the rows buffered when it is called; returns the number of rows written.

        Only those: rows that requests add meanwhile wait for the next flush. Chasing them
        would, under steady traffic, commit a few rows at a time without end.
        """
        with self._flush_lock:
            batch = [self.rows.popleft() for _ in range(len(self.rows))]
            try:
                return api_requests_write(rows=batch)
            except Exception:
                if not connection.in_atomic_block:
                    connection.close()  # maybe broken; the next flush reconnects
                self.rows.extendleft(reversed(batch))
                logger.exception("could not write %d API request log rows; keeping them",
                                 len(self.rows))
                self._trim()
                return 0

    def _trim(self) -> None:
        dropped = 0
        while len(self.rows) > self.max_rows:
            self.rows.popleft()
            dropped += 1
        if dropped:
            logger.error("API request log buffer full: dropped the %d oldest rows", dropped)
