"""Backups: which tables, the archive format, and writing one (streamed, gzipped).

Archive layout (format version 2), one JSON document per line:
  {"format": "backoffice-backup", "version": 2, "created_at": ..., "schema": {...},
   "models": [...], "copy": [...]}                                 the header
  {"model": "accounts.user", "fields": ["id", "password", ...]}     a JSON section's header
  [1, "pbkdf2...", ...]                                            one line per row
  {"model": "reports.apirequest", "columns": [...], "copy": "text"} a COPY section's header
  #1048576\n<that many bytes of PostgreSQL COPY text>              ... chunks, then
  #0\n                                                             the section's end
  {"end": true, "row_counts": {"accounts.user": 3, ...}}          written last

On PostgreSQL every table is streamed with COPY (maintenance.backup_copy), except those
with foreign keys to Permission or ContentType, whose ids differ between databases: those
are written as JSON rows with natural keys, as every table is on other databases. Rows
are read chunk by chunk, so memory stays flat however large the tables are. Version 1
archives (JSON sections only) are still read.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import hashlib
import os
import uuid
from contextlib import contextmanager, nullcontext
from pathlib import Path

import orjson
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from maintenance.backup_copy import copy_out, copy_suits
from maintenance.backup_crypto import EncryptingWriter, encryption_key, new_signer, open_stored
from maintenance.backup_storage import BackupError, backup_dir, backup_store
from maintenance.checks import configured_model

FORMAT = "backoffice-backup"
VERSION = 2
READABLE_VERSIONS = (1, 2)
SUFFIX = ".jsonl.gz"

API_LOG_MODEL = "reports.ApiRequest"

__all__ = ["BackupError", "backup_dir"]  # re-exported: callers know them from here


def backup_models(*, include_api_log: bool | None = None) -> list:
    """The model classes a backup holds, in restore order (BACKUP_MODELS, then the API log
    when included)."""
    if include_api_log is None:
        include_api_log = settings.BACKUP_INCLUDE_API_LOG
    models = [configured_model("BACKUP_MODELS", label) for label in settings.BACKUP_MODELS]
    if include_api_log:
        models.append(apps.get_model(API_LOG_MODEL))
    return models


def model_label(model) -> str:
    return model._meta.label_lower


def schema_version(app_labels) -> dict[str, str]:
    """The latest applied migration of each app (the schema the rows belong to)."""
    wanted = set(app_labels)
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        if app in wanted and name > latest.get(app, ""):
            latest[app] = name
    return dict(sorted(latest.items()))


def schema_apps(models) -> set[str]:
    return {m._meta.app_label for m in models} | {"contenttypes", "auth"}


def backup_suffix() -> str:
    return SUFFIX + ".enc" if encryption_key() else SUFFIX


@contextmanager
def open_backup(path: Path):
    """The decompressed JSON Lines of a stored backup (decrypted first when encrypted)."""
    with open_stored(path) as stored, gzip.GzipFile(fileobj=stored, mode="rb") as lines:
        yield lines


def _default(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID | dt.tzinfo):  # time zone fields hold ZoneInfo
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to a backup")


def _natural_key_encoders(fields) -> dict[int, dict]:
    """Column index → {id: natural key} for foreign keys to Permission / ContentType."""
    encoders = {}
    for index, field in enumerate(fields):
        if not field.is_relation:
            continue
        if field.related_model is ContentType:
            encoders[index] = {ct.pk: [ct.app_label, ct.model]
                               for ct in ContentType.objects.all()}
        elif field.related_model is Permission:
            encoders[index] = {
                p["pk"]: [p["content_type__app_label"], p["content_type__model"], p["codename"]]
                for p in Permission.objects.values(
                    "pk", "codename", "content_type__app_label", "content_type__model")
            }
    return encoders


class _HashingWriter:
    """A binary file wrapper that hashes, signs and counts what goes through it."""

    def __init__(self, raw):
        self.raw, self.sha256, self.signer, self.size = raw, hashlib.sha256(), new_signer(), 0

    def write(self, data) -> int:
        self.sha256.update(data)
        self.signer.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self):
        self.raw.flush()


def _write_model(out, model, chunk_size: int) -> int:
    fields = list(model._meta.concrete_fields)
    names = [f.attname for f in fields]
    out.write(orjson.dumps({"model": model_label(model), "fields": names}) + b"\n")
    encoders = _natural_key_encoders(fields)
    rows = (model._base_manager.order_by("pk").values_list(*names)
            .iterator(chunk_size=chunk_size))
    dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    count, buffer = 0, []
    for row in rows:
        if encoders:
            row = [encoders[i].get(v, v) if i in encoders else v for i, v in enumerate(row)]
        buffer.append(dumps(row, default=_default, option=option))
        if len(buffer) >= chunk_size:
            out.write(b"".join(buffer))
            count += len(buffer)
            buffer = []
    out.write(b"".join(buffer))
    return count + len(buffer)


@contextmanager
def _snapshot():
    """Read every table from one snapshot when the database allows it without blocking."""
    if connection.in_atomic_block:
        yield
    elif connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    elif connection.vendor == "sqlite":
        # A deferred read transaction (WAL): a consistent view that never blocks writers.
        # Django's atomic() would use BEGIN IMMEDIATE and hold the write lock throughout.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")
    else:
        with nullcontext():
            yield


def backup_write(*, name: str, models, chunk_size: int | None = None) -> dict:
    """Write the backup `name` to a private temp file in BACKUP_DIR (mode 0600, fsynced),
    then store it with its sidecars (maintenance.backup_storage).

    Returns size, sha256, per-model row counts and the schema. The sidecars are
    `<name>.sha256` (for a clear "damaged" message) and `<name>.hmac`, the signature a
    restore requires (see backup_crypto). With BACKUP_ENCRYPTION_KEY set the gzip stream is
    encrypted before it reaches the disk.
    """
    chunk_size = chunk_size or settings.BACKUP_CHUNK_SIZE
    temp = backup_dir() / f".{name}.tmp"
    schema = schema_version(schema_apps(models))
    counts: dict[str, int] = {}
    copied = [model_label(m) for m in models if copy_suits(m)]
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            hashing = _HashingWriter(raw)
            key = encryption_key()
            sink = EncryptingWriter(hashing, key) if key else hashing
            with gzip.GzipFile(filename="", mode="wb", fileobj=sink, mtime=0,
                               compresslevel=settings.BACKUP_COMPRESS_LEVEL) as out:
                with _snapshot():
                    out.write(orjson.dumps({
                        "format": FORMAT, "version": VERSION,
                        "created_at": dt.datetime.now(dt.UTC).isoformat(),
                        "database": connection.vendor, "schema": schema,
                        "models": [model_label(m) for m in models], "copy": copied,
                    }) + b"\n")
                    for model in models:
                        label = model_label(model)
                        counts[label] = (copy_out(out, model) if label in copied
                                         else _write_model(out, model, chunk_size))
                out.write(orjson.dumps({"end": True, "row_counts": counts}) + b"\n")
            if key:
                sink.close()
            raw.flush()
            os.fsync(raw.fileno())
        size, digest = hashing.size, hashing.sha256.hexdigest()
        backup_store(name, temp, {".sha256": digest, ".hmac": hashing.signer.hexdigest()})
    finally:
        temp.unlink(missing_ok=True)
    return {"size_bytes": size, "sha256": digest, "row_counts": counts, "schema": schema}


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
