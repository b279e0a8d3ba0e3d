"""Where backup files live: the `backups` storage of STORAGES.

By default a private local directory (BACKUP_DIR, files 0600, directory 0700); with
BACKUP_S3_BUCKET set, an S3-compatible bucket through django-storages, so every host reads
and writes the same backups. A backup is written to a temp file in BACKUP_DIR first (the
spool) and then stored under its name, beside `<name>.sha256` and `<name>.hmac`. Every read
and write of a backup's bytes goes through this module.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

SIDECARS = (".sha256", ".hmac")
# A stored name is a plain file name: no directories, no leading dot, nothing to escape with.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,250}")


class BackupError(Exception):
    """A backup cannot be written, trusted or restored; the message says why."""


class LocalBackupStorage(FileSystemStorage):
    """BACKUP_DIR as a private storage; it follows the setting when a test changes it."""

    def __init__(self, location=None, **options):
        options.setdefault("file_permissions_mode", 0o600)
        options.setdefault("directory_permissions_mode", 0o700)
        super().__init__(location=location, **options)

    @property
    def base_location(self):
        return self._value_or_setting(self._location, settings.BACKUP_DIR)

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def backup_storage():
    return storages["backups"]


def is_local(storage=None) -> bool:
    return isinstance(storage or backup_storage(), FileSystemStorage)


def backup_dir() -> Path:
    """BACKUP_DIR (the local storage, or the spool before an upload), created if missing and
    made private (0700) if it already existed."""
    path = Path(settings.BACKUP_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != 0o700:
        os.chmod(path, 0o700)
    return path


def checked_name(file_name: str) -> str:
    """`file_name` if it names a file directly in the backup storage; otherwise BackupError,
    before anything is read (a name with directories, an absolute path, a symlink out)."""
    refused = BackupError(f"the file name {file_name!r} leads outside the backup directory; "
                          "refused")
    if not isinstance(file_name, str) or not _NAME.fullmatch(file_name):
        raise refused
    storage = backup_storage()
    if is_local(storage):
        directory = Path(storage.location).resolve()
        if (directory / file_name).resolve().parent != directory:
            raise refused
    return file_name


class _SpooledFile(File):
    """A finished temp file; FileSystemStorage moves it into place instead of copying."""

    def temporary_file_path(self) -> str:
        return self.file.name


def backup_store(name: str, temp: Path, sidecars: dict[str, str]) -> None:
    """Store the temp file as `name`, then its sidecars (suffix → value). On any error,
    whatever was stored of it is removed (best effort) and the error raised again."""
    storage = backup_storage()
    try:
        with open(temp, "rb") as handle:
            saved = storage.save(name, _SpooledFile(handle, name=name))
        if saved != name:
            raise BackupError(f"the storage stored {name} as {saved!r}; refused")
        for suffix, value in sidecars.items():
            storage.save(name + suffix, ContentFile(f"{value}  {name}\n".encode()))
        if is_local(storage):
            _fsync_dir(Path(storage.location))
    except BaseException as exc:
        with suppress(Exception):
            backup_remove(name)
        if isinstance(exc, Exception) and not isinstance(exc, BackupError):
            raise BackupError(f"storing {name} in the backup storage "
                              f"({type(storage).__name__}) failed, the backup is not kept: "
                              f"{type(exc).__name__}: {exc}") from exc
        raise


def backup_remove(name: str) -> None:
    """Delete a stored backup and its sidecars; missing ones are fine."""
    storage = backup_storage()
    for each in (name, *(name + suffix for suffix in SIDECARS)):
        storage.delete(each)


def backup_open(name: str):
    """A binary stream of the stored file, read as it arrives (never whole in memory).
    FileNotFoundError when it is not there."""
    storage = backup_storage()
    if is_local(storage):
        return open(storage.path(name), "rb")  # noqa: SIM115 - the caller closes it
    from botocore.exceptions import ClientError

    # The bucket key: the storage's prefix (location) and the name, which checked_name
    # has made a plain file name.
    key = posixpath.join(storage.location, name) if storage.location else name
    try:
        return storage.bucket.Object(key).get()["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(f"{name} is not in the backup storage") from None
        raise


def backup_size(name: str) -> int:
    return backup_storage().size(name)


def sidecar_value(name: str, suffix: str) -> str | None:
    """The first word of `<name><suffix>` in the storage, or None when it is absent."""
    try:
        with backup_open(name + suffix) as handle:
            words = handle.read(4096).decode(errors="replace").split()
    except FileNotFoundError:
        return None
    return words[0] if words else ""


def stored_names() -> list[str]:
    """Names of the backup files in the storage (sidecars and temp files left out)."""
    storage = backup_storage()
    if is_local(storage) and not os.path.isdir(storage.location):
        return []
    _, files = storage.listdir("")
    return sorted(f for f in files if _NAME.fullmatch(f) and not f.endswith(SIDECARS))


@contextmanager
def backup_fetched(name: str):
    """A local path holding the stored file: the file itself for the local storage, else a
    private temp copy in BACKUP_DIR (streamed down), removed afterwards."""
    if is_local():
        yield Path(backup_storage().path(name))
        return
    fd, temp = tempfile.mkstemp(prefix=f".fetch-{name}.", suffix=".tmp", dir=backup_dir())
    try:
        with os.fdopen(fd, "wb") as out, backup_open(name) as body:
            shutil.copyfileobj(body, out, 1 << 20)
        yield Path(temp)
    finally:
        Path(temp).unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
