"""A per-process buffer that a daemon thread writes in batches, off the hot path.

Callers append a tuple (a lock-free deque append); the thread writes what has accumulated
every `interval` seconds (sooner when `wake_at_rows` wait) through the `write` function it
was given. Nothing is dropped silently:
- a failed write is logged and its rows are kept for the next flush;
- rows beyond `max_rows` (the database stayed down) are dropped oldest first, and how
  many is logged as an error;
- the buffer is flushed when the process exits normally, and `flush()` may be called
  from a shutdown hook (a Celery worker process does not run `atexit`).
A process killed with SIGKILL loses at most one interval of rows.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from collections.abc import Callable

from django.db import connection

logger = logging.getLogger(__name__)


class BufferedWriter:
    def __init__(self, write: Callable[[list[tuple]], int], *, name: str, interval: float,
                 max_rows: int, wake_at_rows: int):
        self.write = write
        self.name = name
        self.interval = interval
        self.max_rows = max_rows
        self.wake_at_rows = wake_at_rows
        self.rows: deque[tuple] = deque()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._started = False
        # A forked child (a gunicorn worker, a Celery pool process) has no writer thread:
        # it starts its own on first use. Rows buffered before the fork are the parent's.
        os.register_at_fork(after_in_child=self._after_fork)

    def add(self, row: tuple) -> None:
        if not self._started:
            self._start()
        rows = self.rows
        rows.append(row)
        if len(rows) >= self.wake_at_rows and not self._wake.is_set():
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
            threading.Thread(target=self._loop, name=self.name, daemon=True).start()
            atexit.register(self.flush)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write the rows buffered when it is called; returns the number of rows written.

        Only those: rows added meanwhile wait for the next flush. Chasing them would, under
        steady traffic, commit a few rows at a time without end.
        """
        with self._flush_lock:
            batch = [self.rows.popleft() for _ in range(len(self.rows))]
            if not batch:
                return 0
            try:
                return self.write(batch)
            except Exception:
                if not connection.in_atomic_block:
                    connection.close()  # maybe broken; the next flush reconnects
                self.rows.extendleft(reversed(batch))
                logger.exception("%s: could not write %d rows; keeping them",
                                 self.name, len(self.rows))
                self._trim()
                return 0

    def _trim(self) -> None:
        dropped = 0
        while len(self.rows) > self.max_rows:
            self.rows.popleft()
            dropped += 1
        if dropped:
            logger.error("%s: buffer full, dropped the %d oldest rows", self.name, dropped)
