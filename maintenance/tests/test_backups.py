"""Backups and restore with real files: round trip, damaged files, schema, retention."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import stat

import orjson
import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backoffice.locks import job_lock
from maintenance import tasks
from maintenance.backups import BackupError, checksum_path
from maintenance.models import Backup
from maintenance.restore import backup_restore, backup_verify
from maintenance.services import backup_create, backups_prune
from maintenance.tests.helpers import (
    archive_documents,
    fingerprint,
    make_data,
    sign,
    wipe_and_change,
)

pytestmark = pytest.mark.django_db(transaction=True)


def latest_migration(app_label):
    """The newest migration of an app on disk (what the test database is migrated to)."""
    from django.db.migrations.loader import MigrationLoader

    return max(name for app, name in MigrationLoader(None).disk_migrations if app == app_label)


@pytest.fixture(autouse=True)
def backup_dir(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    return settings.BACKUP_DIR


def backup_dir_of(backup):
    from maintenance.backups import backup_dir

    return backup_dir() / backup.file_name


def test_backup_file_is_private_gzipped_jsonl_with_checksum_counts_and_schema(backup_dir):
    make_data()

    backup = backup_create(triggered_by="test")

    path = backup_dir_of(backup)
    assert backup.status == Backup.Status.SUCCESS and backup.finished_at
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert backup.size_bytes == path.stat().st_size
    assert backup.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert checksum_path(path).read_text().split() == [backup.sha256, path.name]
    assert [p.name for p in backup_dir.iterdir() if p.name.startswith(".")] == []  # no temp
    lines = archive_documents(gzip.decompress(path.read_bytes()))
    header, trailer = lines[0], lines[-1]
    assert header["format"] == "backoffice-backup"
    assert header["schema"]["reports"] == latest_migration("reports")
    assert header["schema"] == backup.schema
    assert trailer == {"end": True, "row_counts": backup.row_counts}
    assert backup.row_counts["accounts.user"] == 2
    # make_data adds 2; the Operators and Auditors roles bring their own.
    assert backup.row_counts["auth.group_permissions"] == Group.permissions.through.objects.count()
    assert backup.row_counts["django_celery_beat.periodictask"] == PeriodicTask.objects.count()
    assert "reports.apirequest" not in backup.row_counts  # API log only by setting
    # Permissions are written as natural keys (their ids differ between databases).
    group_perm_rows = lines[lines.index({"model": "auth.group_permissions",
                                         "fields": ["id", "group_id", "permission_id"]}) + 1]
    app_label, model, codename = group_perm_rows[2]
    assert Permission.objects.filter(content_type__app_label=app_label,
                                     content_type__model=model, codename=codename).exists()


def test_round_trip_backup_wipe_restore_gives_identical_data():
    make_data()
    before = fingerprint()
    backup = backup_create(triggered_by="test")
    wipe_and_change()
    assert fingerprint() != before

    result = backup_restore(backup.pk)

    assert fingerprint() == before
    assert result["row_counts"] == backup.row_counts
    # Sequences continue after the restored ids (PostgreSQL needs a reset).
    newcomer = get_user_model().objects.create_user("after", "a@example.com", "pw-After-123")
    assert newcomer.pk > max(row[0] for row in before["accounts.user"])


def test_restore_removes_rows_that_pointed_at_users_the_backup_lacks():
    make_data()
    backup = backup_create(triggered_by="test")
    mallory = get_user_model().objects.create_user("mallory", "m@example.com", "pw-M-1234567")
    LogEntry.objects.create(user=mallory, action_flag=ADDITION, object_repr="x")

    backup_restore(backup.pk)

    assert not get_user_model().objects.filter(username="mallory").exists()
    assert not LogEntry.objects.exists()  # CASCADE, as deleting the user would have done


@pytest.mark.parametrize("damage", ["truncate", "flip_byte"])
def test_damaged_file_is_refused_with_a_clear_message_and_nothing_changes(damage):
    make_data()
    backup = backup_create(triggered_by="test")
    wipe_and_change()
    before = fingerprint()
    path = backup_dir_of(backup)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])

    with pytest.raises(BackupError, match="checksum mismatch.*damaged or was altered"):
        backup_restore(backup.pk)
    with pytest.raises(CommandError, match="checksum mismatch"):
        call_command("restore_backup", str(backup.pk), "--noinput")

    assert fingerprint() == before


def test_truncated_file_with_a_forged_checksum_fails_inside_the_transaction():
    """Even when checksum and signature were remade (with the key), a truncated file
    changes nothing."""
    make_data()
    backup = backup_create(triggered_by="test")
    wipe_and_change()
    before = fingerprint()
    path = backup_dir_of(backup)
    raw = gzip.decompress(path.read_bytes())
    cut = gzip.compress(raw[: raw.rindex(b'{"end"')])  # valid gzip, no end marker
    copy = path.with_name("copy.jsonl.gz")
    copy.write_bytes(cut)
    checksum_path(copy).write_text(f"{hashlib.sha256(cut).hexdigest()}  {copy.name}\n")
    sign(copy)

    with pytest.raises(BackupError, match="truncated"):
        backup_restore(str(copy))

    assert fingerprint() == before


def test_schema_version_mismatch_is_refused_before_anything_changes():
    make_data()
    backup = backup_create(triggered_by="test")
    path = backup_dir_of(backup)
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    header = orjson.loads(lines[0])
    header["schema"]["reports"] = "0009_from_the_future"
    forged = gzip.compress(b"\n".join([orjson.dumps(header), *lines[1:]]))
    copy = path.with_name("other.jsonl.gz")
    copy.write_bytes(forged)
    checksum_path(copy).write_text(f"{hashlib.sha256(forged).hexdigest()}  {copy.name}\n")
    sign(copy)
    wipe_and_change()
    before = fingerprint()

    with pytest.raises(BackupError, match="schema version differs.*reports: backup "
                                          f"0009_from_the_future, database "
                                          f"{latest_migration('reports')}"):
        backup_verify(str(copy))
    with pytest.raises(CommandError, match="schema version differs"):
        call_command("restore_backup", str(copy), "--noinput")
    assert fingerprint() == before


def test_a_file_without_any_known_checksum_is_refused(tmp_path):
    stray = tmp_path / "stray.jsonl.gz"
    stray.write_bytes(gzip.compress(b"{}\n"))
    with pytest.raises(BackupError, match="no checksum known"):
        backup_verify(str(stray))
    with pytest.raises(BackupError, match="no backup with id 999"):
        backup_verify(999)


def test_restore_command_by_id_and_by_path():
    make_data()
    before = fingerprint()
    backup = backup_create(triggered_by="test")
    wipe_and_change()
    call_command("restore_backup", str(backup.pk), "--noinput", verbosity=0)
    assert fingerprint() == before
    wipe_and_change()
    call_command("restore_backup", str(backup_dir_of(backup)), "--noinput", verbosity=0)
    assert fingerprint() == before


def test_failed_backup_is_recorded_with_its_error_and_leaves_no_file(settings, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings.BACKUP_DIR = blocker / "backups"

    with pytest.raises(OSError):
        backup_create(triggered_by="test")

    failed = Backup.objects.get()
    assert failed.status == Backup.Status.FAILED
    assert "NotADirectoryError" in failed.error or "FileExistsError" in failed.error
    assert failed.file_name == ""


def test_a_second_backup_while_one_runs_is_skipped():
    with job_lock("backup"):
        result = tasks.backup_database.apply().get()
    assert result["status"] == "skipped" and "another backup is running" in result["reason"]
    assert not Backup.objects.exists()
    assert tasks.backup_database.apply().get()["status"] == "success"


def test_retention_keeps_the_newest_n_and_everything_younger_than_d_days(backup_dir):
    now = timezone.now()
    made = {}
    for age in (0, 1, 5, 20, 40, 60):  # days
        backup = backup_create(triggered_by=f"age {age}")
        Backup.objects.filter(pk=backup.pk).update(started_at=now - dt.timedelta(days=age))
        made[age] = backup
    failed_old = Backup.objects.create(started_at=now - dt.timedelta(days=50),
                                       status=Backup.Status.FAILED)
    killed = backup_dir / ".backup-20260101-000000-99.jsonl.gz.tmp"  # a worker died mid-write
    killed.write_bytes(b"partial")
    os.utime(killed, (now.timestamp() - 86400, now.timestamp() - 86400))

    removed = backups_prune(keep_last=4, keep_days=10, now=now)

    kept = set(Backup.objects.values_list("pk", flat=True))
    assert kept == {made[age].pk for age in (0, 1, 5, 20)}
    assert removed == 3 and failed_old.pk not in kept
    names = {p.name for p in backup_dir.iterdir()}
    assert not [n for n in names if n.endswith(".tmp")]
    for age, backup in made.items():
        assert (backup.file_name in names) == (age <= 20)
        assert (backup.file_name + ".sha256" in names) == (age <= 20)


def reheaded_copy(backup, **changes):
    """A copy of `backup`'s file beside it with header fields changed, checksummed and
    signed with this installation's key (as only its holder could)."""
    path = backup_dir_of(backup)
    first, rest = gzip.decompress(path.read_bytes()).split(b"\n", 1)
    header = {**orjson.loads(first), **changes}
    data = gzip.compress(orjson.dumps({k: v for k, v in header.items() if v is not None})
                         + b"\n" + rest)
    copy = path.with_name(f"reheaded-{backup.pk}.jsonl.gz")
    copy.write_bytes(data)
    checksum_path(copy).write_text(f"{hashlib.sha256(data).hexdigest()}  {copy.name}\n")
    sign(copy)
    return copy, header


def test_a_version_1_archive_still_restores():
    make_data()
    backup = backup_create(triggered_by="test")
    copy, header = reheaded_copy(backup, version=1, copy=None)
    if backup_verify(backup.pk)["copy"]:
        pytest.skip("a version 1 archive holds JSON sections only; this database writes COPY")
    expected = fingerprint()
    wipe_and_change()

    backup_restore(str(copy))

    assert fingerprint() == expected


def test_an_archive_with_copy_sections_is_refused_outside_postgresql():
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL restores COPY sections")
    make_data()
    backup = backup_create(triggered_by="test")
    copy, _ = reheaded_copy(backup, copy=["reports.dailyreport"])
    wipe_and_change()
    before = fingerprint()

    with pytest.raises(BackupError, match="holds PostgreSQL COPY data .*reports.dailyreport.*"
                                          "restores only into PostgreSQL"):
        backup_restore(str(copy))
    assert fingerprint() == before


def test_an_unknown_archive_version_is_refused():
    backup = backup_create(triggered_by="test")
    copy, _ = reheaded_copy(backup, version=3)

    with pytest.raises(BackupError, match="format version 3; this code reads versions 1, 2"):
        backup_verify(str(copy))
