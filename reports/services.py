"""Writes of the reports app: recording API requests (one, or a batch from the buffer)."""

from __future__ import annotations

from itertools import chain

from django.db import connection, transaction

from reports.models import ApiRequest

# (timestamp, method, route, status_code, user_id, ip, duration_ms)
ROW_FIELDS = ("timestamp", "method", "route", "status_code", "user_id", "ip", "duration_ms")
# Rows per INSERT statement (7 parameters each; well inside every backend's limit).
ROWS_PER_STATEMENT = 500


def _insert_sql(rows: int) -> str:
    meta = ApiRequest._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ROW_FIELDS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(ROW_FIELDS)) + ")"] * rows)
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}"


def api_requests_write(*, rows: list[tuple]) -> int:
    """Insert request rows with multi-row INSERTs in one transaction (no models, no signals).

    One statement per few hundred rows, not one per row: SQLite commits after every
    statement outside a transaction, and the driver releases the GIL around every
    statement, which in a busy web process costs the request threads more than the insert.
    """
    if not rows:
        return 0
    adapt = connection.ops.adapt_datetimefield_value
    adapt_ip = connection.ops.adapt_ipaddressfield_value
    params = [(adapt(ts), method[:10], route[:255], status, user_id, adapt_ip(ip), duration)
              for ts, method, route, status, user_id, ip, duration in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(params), ROWS_PER_STATEMENT):
            chunk = params[start:start + ROWS_PER_STATEMENT]
            cursor.execute(_insert_sql(len(chunk)), list(chain.from_iterable(chunk)))
    return len(rows)
