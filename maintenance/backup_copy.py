"""PostgreSQL tables streamed with COPY, out of the database into an archive and back.

A COPY section of an archive is the table's COPY text format cut into chunks, each written
as `#<length>\\n` and that many bytes, and ended by `#0\\n`. In the text format every row
ends with a newline (newlines inside values are escaped), so counting newlines counts rows.
Rows are read with libpq's own copy call (psycopg's `pgconn`), which costs a fraction of
psycopg's per-row iterator; chunks are written from a second thread, as compression,
hashing and encryption release the GIL and so overlap with reading the next rows.
"""

from __future__ import annotations

import queue
import threading

import orjson
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection
from psycopg import pq

from maintenance.backup_storage import BackupError

CHUNK = 1 << 20
_NATURAL_KEY_MODELS = (ContentType, Permission)


def copy_suits(model) -> bool:
    """Whether `model` is written with COPY: on PostgreSQL, unless it points at rows whose
    ids differ between databases (those go as JSON with natural keys)."""
    return connection.vendor == "postgresql" and not any(
        f.is_relation and f.related_model in _NATURAL_KEY_MODELS
        for f in model._meta.concrete_fields)


def _table_sql(model, columns: list[str]) -> str:
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)})"


class _ChunkWriter:
    """Writes chunks to `out` in a thread; errors come back to the caller at close."""

    def __init__(self, out):
        self.out, self.rows, self.error = out, 0, None
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.thread = threading.Thread(target=self._run, name="backup-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (data := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.out.write(b"#%d\n" % len(data))
                    self.out.write(data)
                    self.rows += data.count(b"\n")
                except BaseException as exc:  # handed to the caller in close()
                    self.error = exc

    def put(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(data)

    def close(self) -> int:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        self.out.write(b"#0\n")
        return self.rows


def copy_out(out, model) -> int:
    """Write `model`'s table as a COPY section to `out`; returns its row count."""
    columns = [f.column for f in model._meta.concrete_fields]
    out.write(orjson.dumps({"model": model._meta.label_lower, "columns": columns,
                            "copy": "text"}) + b"\n")
    writer = _ChunkWriter(out)
    try:
        for chunk in _copy_chunks(f"COPY {_table_sql(model, columns)} TO STDOUT"):
            writer.put(chunk)
    finally:
        rows = writer.close()
    return rows


def _copy_chunks(sql: str):
    """The COPY output of `sql` in chunks of about CHUNK bytes, inside the transaction of
    Django's connection."""
    pgconn = connection.connection.pgconn
    pgconn.send_query(sql.encode())
    result = pgconn.get_result()
    copying = result.status == pq.ExecStatus.COPY_OUT
    try:
        if result.status != pq.ExecStatus.COPY_OUT:
            raise DatabaseError(f"{sql}: {(result.error_message or b'').decode(errors='replace')}")
        read, buffer = pgconn.get_copy_data, bytearray()
        while True:
            size, data = read(0)  # blocks until a row (or the end) arrives
            if size < 0:
                copying = False
                break
            buffer += data
            if len(buffer) >= CHUNK:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)
        result = pgconn.get_result()
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise DatabaseError(f"{sql}: {(result.error_message or b'').decode(errors='replace')}")
    finally:  # stopped early (an error): read to the end, so the connection stays usable
        while copying and pgconn.get_copy_data(0)[0] >= 0:
            pass
        while pgconn.get_result() is not None:
            pass


def copy_in(handle, model, columns: list[str], file_name: str) -> int:
    """Load a COPY section from the archive `handle` into `model`'s table; returns its row
    count. The caller holds the transaction."""
    known = {f.column for f in model._meta.concrete_fields}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise BackupError(f"{model._meta.label_lower}: the backup has unknown columns {unknown}")
    rows = 0
    with connection.connection.cursor() as cursor, \
            cursor.copy(f"COPY {_table_sql(model, columns)} FROM STDIN") as copy:
        while True:
            head = handle.readline()
            if not head.startswith(b"#") or not head[1:-1].isdigit():
                raise BackupError(f"{file_name} is damaged or truncated (a COPY section of "
                                  f"{model._meta.label_lower} does not end)")
            size = int(head[1:-1])
            if size == 0:
                return rows
            data = handle.read(size)
            if len(data) != size:
                raise BackupError(f"{file_name} is truncated (in {model._meta.label_lower})")
            copy.write(data)
            rows += data.count(b"\n")
