"""The per-process buffer of logged API requests (see backoffice.buffered_writer).

Rows are written once per API_REQUEST_LOG_FLUSH_SECONDS, all in one transaction, and
sooner only when a whole statement's worth waits: a commit costs far more than a row (on
SQLite several hundred rows' worth), so fewer, larger transactions keep the log cheap.
"""

from __future__ import annotations

from django.conf import settings

from backoffice.buffered_writer import BufferedWriter
from reports.services import ROWS_PER_STATEMENT, api_requests_write

WAKE_AT_ROWS = ROWS_PER_STATEMENT


class RequestLogBuffer(BufferedWriter):
    def __init__(self, *, interval: float, max_rows: int):
        super().__init__(self._write, name="api-request-log", interval=interval,
                         max_rows=max_rows, wake_at_rows=WAKE_AT_ROWS)

    @staticmethod
    def _write(rows: list[tuple]) -> int:
        # Looked up at call time, so a test can swap the writer for a failing one.
        return api_requests_write(rows=rows)


_buffer: RequestLogBuffer | None = None  # one per process, shared by every request


def request_log_buffer() -> RequestLogBuffer:
    """This process's buffer of logged requests, made on first use."""
    global _buffer
    if _buffer is None:
        _buffer = RequestLogBuffer(interval=settings.API_REQUEST_LOG_FLUSH_SECONDS,
                                   max_rows=settings.API_REQUEST_LOG_MAX_BUFFER)
    return _buffer


def request_log_flush() -> int:
    """Write this process's buffered requests now; returns how many were written."""
    return _buffer.flush() if _buffer is not None else 0


def request_log_discard() -> None:
    """Forget this process's buffered requests, unwritten (between tests)."""
    if _buffer is not None:
        _buffer.rows.clear()
