"""Restore a backup: verify everything first, then replace the tables in one transaction.

Nothing is touched before the checksum, the signature (an HMAC made with a key from the
settings, required wherever the file lies), the format and the schema version have been
checked. A Backup row's file must be a plain name in the backup storage (checked before
anything is read); from object storage it is streamed into one private temp copy, and that
copy is what is verified and loaded. While BACKUP_ENCRYPTION_KEY is set only an encrypted
file is restored. The load itself runs in a single transaction, so any error (a damaged
file, a row the database refuses, a count that does not match) leaves the database as it
was. JSON sections are inserted in batches; COPY sections (PostgreSQL) go back with COPY.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction

try:
    from psycopg import Error as PsycopgError
except ImportError:  # pragma: no cover - psycopg is a requirement
    PsycopgError = DatabaseError

from backoffice.locks import JobLocked, job_lock
from maintenance.backup_copy import copy_in
from maintenance.backup_crypto import (
    BackupCryptoError,
    encryption_key,
    is_encrypted,
    signature_path,
    signature_valid,
)
from maintenance.backup_storage import (
    backup_fetched,
    backup_storage,
    checked_name,
    is_local,
    sidecar_value,
)
from maintenance.backups import (
    FORMAT,
    READABLE_VERSIONS,
    BackupError,
    checksum_path,
    file_sha256,
    open_backup,
    schema_version,
)
from maintenance.cleanup import rows_delete, table_empty
from maintenance.models import Backup

INSERT_BATCH = 2000
CONVERTED_TYPES = {"DateTimeField", "DateField", "TimeField", "DecimalField", "UUIDField",
                   "DurationField"}


@dataclass(frozen=True)
class Source:
    """What a restore reads: a name in the backup storage, or a file given by path."""

    sha256: str
    backup: Backup | None = None
    name: str = ""
    path: Path | None = None

    @property
    def label(self) -> str:
        return self.name or self.path.name


def resolve_backup(ref) -> Source:
    """A Backup (row, id or digits) or a file path → where it is and its expected sha256."""
    backup = None
    if isinstance(ref, Backup):
        backup = ref
    elif isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        backup = Backup.objects.filter(pk=int(ref)).first()
        if backup is None:
            raise BackupError(f"there is no backup with id {ref}")
    if backup is not None:
        if backup.status != Backup.Status.SUCCESS or not backup.file_name:
            raise BackupError(f"backup {backup.pk} did not succeed; it cannot be restored")
        try:
            name = checked_name(backup.file_name)
        except BackupError as exc:
            raise BackupError(f"backup {backup.pk}: {exc}") from None
        return Source(backup.sha256, backup, name=name)
    path = Path(ref).expanduser().resolve()
    backup = Backup.objects.filter(file_name=path.name, status=Backup.Status.SUCCESS).first()
    if (backup is not None and is_local()
            and path.parent == Path(backup_storage().location).resolve()):
        return Source(backup.sha256, backup, name=backup.file_name)
    sidecar = checksum_path(path)
    if not sidecar.is_file():
        raise BackupError(f"no checksum known for {path} (no Backup row, no {sidecar.name}); "
                          "refusing to restore an unverified file")
    return Source(sidecar.read_text().split()[0], path=path)


@contextmanager
def _local_copy(source: Source):
    """A local path with the bytes to verify and load (see the module's docstring)."""
    if source.path is not None:
        if not source.path.is_file():
            raise BackupError(f"backup file {source.path} does not exist")
        yield source.path
        return
    try:
        with backup_fetched(source.name) as path:
            if not path.is_file():
                raise FileNotFoundError(path)
            yield path
    except FileNotFoundError:
        raise BackupError(f"backup file {source.name} does not exist in the backup "
                          "storage") from None


def _read_header(path: Path) -> dict:
    try:
        with open_backup(path) as handle:
            header = orjson.loads(handle.readline())
    except (OSError, EOFError, orjson.JSONDecodeError, BackupCryptoError) as exc:
        raise BackupError(f"{path.name} is not a readable backup ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path.name} is not a backoffice backup")
    if header.get("version") not in READABLE_VERSIONS:
        raise BackupError(f"{path.name} has format version {header.get('version')}; "
                          f"this code reads versions {', '.join(map(str, READABLE_VERSIONS))}")
    return header


@contextmanager
def _verified(ref):
    """Check a backup without touching the database; yield its header plus `path` (the
    local bytes, valid inside the block) and `backup`. BackupError says what is wrong."""
    source = resolve_backup(ref)
    with _local_copy(source) as path:
        yield _checked(source, path)


def _checked(source: Source, path: Path) -> dict:
    name = source.label
    actual = file_sha256(path)
    if actual != source.sha256:
        raise BackupError(f"checksum mismatch for {name}: the file is damaged or was "
                          f"altered (expected sha256 {source.sha256}, file has {actual})")
    if source.path is not None:
        signed = signature_valid(path)
    else:
        expected = sidecar_value(source.name, ".hmac")
        signed = None if expected is None else signature_valid(path, expected)
    if signed is None:
        raise BackupError(f"{name} has no signature ({signature_path(Path(name)).name}); "
                          "refusing to restore an unsigned file")
    if not signed:
        raise BackupError(f"{name}: signature does not verify, the file was altered or "
                          "was not made with this installation's BACKUP_HMAC_KEY; refused")
    backup = source.backup
    if encryption_key() is not None and not is_encrypted(path):
        raise BackupError(
            f"{name} is not encrypted, and BACKUP_ENCRYPTION_KEY is set: a plain backup "
            "is refused. If you trust this file, restore it from a shell with the key unset "
            f"for that one command: BACKUP_ENCRYPTION_KEY= python manage.py restore_backup "
            f"{backup.pk if backup else path}")
    header = _read_header(path)
    if header.get("copy") and connection.vendor != "postgresql":
        raise BackupError(f"{name} holds PostgreSQL COPY data ({', '.join(header['copy'])}); "
                          f"it restores only into PostgreSQL, this database is "
                          f"{connection.vendor}")
    current = schema_version(header["schema"].keys())
    different = {app: (migration, current.get(app, "none"))
                 for app, migration in header["schema"].items() if current.get(app) != migration}
    if different:
        details = "; ".join(f"{app}: backup {old}, database {new}"
                            for app, (old, new) in sorted(different.items()))
        raise BackupError(f"schema version differs, refusing to restore ({details}). "
                          "Migrate the database to the backup's schema first.")
    missing = []
    for label in header["models"]:
        try:
            apps.get_model(label)
        except LookupError:
            missing.append(label)
    if missing:
        raise BackupError(f"the backup holds tables this installation lacks: {missing}")
    return {**header, "path": path, "backup": backup, "file": name}


def backup_verify(ref) -> dict:
    """Check a backup without touching the database; return its header plus `backup`.

    Raises BackupError with a message that says what is wrong.
    """
    with _verified(ref) as header:
        return header


def restore_plan(ref) -> list[dict]:
    """What a restore would replace: per table, rows now and rows in the backup."""
    header = backup_verify(ref)
    counts = header["backup"].row_counts if header["backup"] else {}
    plan = []
    for label in header["models"]:
        model = apps.get_model(label)
        plan.append({"label": label, "name": str(model._meta.verbose_name_plural),
                     "current": model._base_manager.count(), "backup": counts.get(label)})
    return plan


def _decoders(model, names: list[str]) -> list:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [n for n in names if n not in by_attname]
    if unknown:
        raise BackupError(f"{model._meta.label_lower}: the backup has unknown columns {unknown}")
    decoders = []
    for name in names:
        field = by_attname[name]
        if field.is_relation and field.related_model is ContentType:
            types = {(ct.app_label, ct.model): ct.pk for ct in ContentType.objects.all()}
            decoders.append(lambda v, t=types: t[tuple(v)] if isinstance(v, list) else v)
        elif field.is_relation and field.related_model is Permission:
            perms = {(p.content_type.app_label, p.content_type.model, p.codename): p.pk
                     for p in Permission.objects.select_related("content_type")}
            decoders.append(lambda v, p=perms: p[tuple(v)] if isinstance(v, list) else v)
        elif field.get_internal_type() in CONVERTED_TYPES:
            decoders.append(field.to_python)
        else:
            decoders.append(None)
    return decoders


def _insert(model, names, decoders, rows) -> None:
    fields = [next(f for f in model._meta.concrete_fields if f.attname == n) for n in names]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(n) for n in [f.column for f in fields])}) "  # noqa: E501
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    params = []
    for row in rows:
        values = [d(v) if d and v is not None else v for d, v in zip(decoders, row, strict=True)]
        params.append([f.get_db_prep_save(v, connection) for f, v in zip(fields, values,
                                                                          strict=True)])
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _reconcile(wiped: list) -> None:
    """Rows outside the backup that pointed at replaced rows now gone: apply on_delete."""
    wiped_set = set(wiped)
    for model in wiped:
        for rel in model._meta.related_objects:
            other = rel.related_model
            if other in wiped_set or not rel.field.concrete or rel.many_to_many:
                continue
            fk = rel.field
            dangling = other._base_manager.exclude(**{f"{fk.name}__isnull": True}).exclude(
                **{f"{fk.attname}__in": model._base_manager.values(fk.target_field.attname)})
            if rel.on_delete is models.SET_NULL:
                dangling.update(**{fk.attname: None})
            elif rel.on_delete is models.CASCADE:
                rows_delete(dangling)
            elif rel.on_delete in (models.PROTECT, models.RESTRICT) and dangling.exists():
                raise BackupError(f"{other._meta.label} rows refer to {model._meta.label} rows "
                                  "that the backup does not have; restore refused")


def _load(path: Path, header: dict, on_rows: Callable[[int], None] | None = None
          ) -> dict[str, int]:
    models_in_order = [apps.get_model(label) for label in header["models"]]
    for model in reversed(models_in_order):
        table_empty(model)
    counts: dict[str, int] = {}
    model = names = decoders = None
    batch: list = []
    trailer = None
    done = 0

    def flush():
        nonlocal done
        _insert(model, names, decoders, batch)
        counts[model._meta.label_lower] += len(batch)
        done += len(batch)
        if on_rows is not None:
            on_rows(done)
    try:
        with open_backup(path) as handle:
            handle.readline()  # the header, already checked
            for line in handle:
                item = orjson.loads(line)
                if isinstance(item, dict) and item.get("copy"):
                    if batch:
                        flush()
                        batch = []
                    copied = apps.get_model(item["model"])
                    counts[copied._meta.label_lower] = copy_in(handle, copied,
                                                               item["columns"], path.name)
                    done += counts[copied._meta.label_lower]
                    if on_rows is not None:
                        on_rows(done)
                    continue
                if isinstance(item, list):
                    batch.append(item)
                    if len(batch) >= INSERT_BATCH:
                        flush()
                        batch = []
                    continue
                if batch:
                    flush()
                    batch = []
                if item.get("end"):
                    trailer = item
                    break
                model = apps.get_model(item["model"])
                names = item["fields"]
                decoders = _decoders(model, names)
                counts[model._meta.label_lower] = 0
    except (OSError, EOFError, orjson.JSONDecodeError, BackupCryptoError) as exc:
        raise BackupError(f"{path.name} is damaged ({type(exc).__name__}: {exc})") from exc
    if trailer is None:
        raise BackupError(f"{path.name} is truncated (no end marker)")
    if trailer["row_counts"] != counts:
        raise BackupError(f"{path.name}: row counts do not match its end marker")
    _reconcile(models_in_order)
    statements = connection.ops.sequence_reset_sql(no_style(), models_in_order)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
    return counts


def backup_restore(ref, *, on_rows: Callable[[int], None] | None = None) -> dict:
    """Verify, then replace the backed-up tables with the file's rows in one transaction.

    `on_rows(n)` is told the rows loaded so far after each batch.
    """
    try:
        with _verified(ref) as header, job_lock("backup"), transaction.atomic():
            counts = _load(header["path"], header, on_rows)
    except JobLocked as exc:
        raise BackupError(f"a backup or restore is running; try again later ({exc})") from exc
    except (DatabaseError, PsycopgError) as exc:  # e.g. a foreign key check; rolled back
        raise BackupError(f"the database refused the backup's rows, nothing was changed "
                          f"({type(exc).__name__}: {exc})") from exc
    _beat_reload()
    return {"file": header["file"], "row_counts": counts}


def _beat_reload() -> None:
    try:
        from django_celery_beat.models import PeriodicTasks
    except ImportError:  # pragma: no cover - django-celery-beat is always installed here
        return
    PeriodicTasks.update_changed()
