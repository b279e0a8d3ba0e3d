"""Backups through the `backups` storage, against a private local directory and against a
real S3 server (SeaweedFS): write, list, download, verify, restore, retention; damaged
objects refused; an upload that fails half-way leaves no backup that claims success."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os

import pytest
from django.utils import timezone

from maintenance import backup_storage as storage_module
from maintenance.backup_crypto import MAGIC
from maintenance.backup_storage import (
    BackupError,
    backup_open,
    backup_storage,
    is_local,
    stored_names,
)
from maintenance.models import Backup
from maintenance.restore import backup_restore, backup_verify
from maintenance.services import backup_create, backups_prune
from maintenance.tests.helpers import fingerprint, make_data, wipe_and_change
from tests.object_storage import SeaweedS3

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def stored_bytes(name: str) -> bytes:
    with backup_open(name) as handle:
        return handle.read()


def replace_stored(name: str, data: bytes) -> None:
    """Overwrite a stored object behind the product's back, as an intruder or a bad disk."""
    storage = backup_storage()
    storage.delete(name)
    from django.core.files.base import ContentFile

    assert storage.save(name, ContentFile(data)) == name


def test_backup_list_download_verify_restore(backup_storage_kind, admin_client):
    make_data()
    backup = backup_create(triggered_by="test")
    assert backup.status == Backup.Status.SUCCESS
    assert is_local() == (backup_storage_kind == "local")

    assert stored_names() == [backup.file_name]
    data = stored_bytes(backup.file_name)
    assert hashlib.sha256(data).hexdigest() == backup.sha256 and len(data) == backup.size_bytes
    assert stored_bytes(backup.file_name + ".sha256").split()[0].decode() == backup.sha256

    response = admin_client.get(f"/admin/maintenance/backup/{backup.pk}/download/")
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == response["X-Backup-SHA256"] == backup.sha256
    assert int(response["Content-Length"]) == backup.size_bytes

    assert backup_verify(backup.pk)["models"]
    expected = fingerprint()
    wipe_and_change()
    assert fingerprint() != expected
    backup_restore(backup.pk)
    assert fingerprint() == expected
    # No spool file or fetched copy is left behind.
    assert [p for p in storage_module.backup_dir().iterdir() if p.name.startswith(".")] == []


def test_retention_removes_objects_and_orphans(backup_storage_kind, settings):
    settings.BACKUP_KEEP_LAST, settings.BACKUP_KEEP_DAYS = 1, 0
    old, new = backup_create(triggered_by="test"), backup_create(triggered_by="test")
    Backup.objects.filter(pk=old.pk).update(started_at=timezone.now() - dt.timedelta(days=3))
    orphan = "backup-20260101-000000-999999.jsonl.gz"  # an upload that failed half-way
    replace_stored(orphan, b"partial")

    assert backups_prune() == 2

    assert stored_names() == [new.file_name]
    assert list(Backup.objects.values_list("pk", flat=True)) == [new.pk]
    storage = backup_storage()
    assert not storage.exists(old.file_name + ".hmac")


@pytest.mark.parametrize("damage", ["truncated", "tampered"])
def test_a_damaged_object_is_refused_and_nothing_changes(backup_storage_kind, damage,
                                                         admin_client):
    make_data()
    backup = backup_create(triggered_by="test")
    data = stored_bytes(backup.file_name)
    damaged = (data[: len(data) // 2] if damage == "truncated"
               else data[:100] + bytes([data[100] ^ 1]) + data[101:])
    replace_stored(backup.file_name, damaged)
    wipe_and_change()
    before = fingerprint()

    with pytest.raises(BackupError, match="checksum mismatch"):
        backup_restore(backup.pk)
    # Even with the row's checksum rewritten to match, the signature refuses it.
    Backup.objects.filter(pk=backup.pk).update(sha256=hashlib.sha256(damaged).hexdigest())
    with pytest.raises(BackupError, match="signature does not verify"):
        backup_restore(backup.pk)
    page = admin_client.get(f"/admin/maintenance/backup/{backup.pk}/restore/")
    assert page.status_code == 400 and b"signature does not verify" in page.content
    assert fingerprint() == before


def test_a_missing_object_is_a_clear_error(backup_storage_kind, admin_client):
    backup = backup_create(triggered_by="test")
    backup_storage().delete(backup.file_name)

    with pytest.raises(BackupError, match="does not exist"):
        backup_verify(backup.pk)
    response = admin_client.get(f"/admin/maintenance/backup/{backup.pk}/download/")
    assert response.status_code == 404


def test_the_s3_server_stopping_mid_upload_fails_the_run(settings, tmp_path, monkeypatch):
    """The file is stored, then the server goes away before its signature is: the run ends
    failed with a message naming the storage, and no row claims success."""
    server = SeaweedS3(tmp_path / "weed").start()
    try:
        bucket = server.new_bucket()
        settings.BACKUP_DIR = tmp_path / "spool"
        settings.STORAGES = {**settings.STORAGES,
                             "backups": server.storage_setting(bucket, "b")}
        real = storage_module.ContentFile

        def stop_then_build(*args, **kwargs):  # the first sidecar: the main file is stored
            server.kill()
            return real(*args, **kwargs)

        monkeypatch.setattr(storage_module, "ContentFile", stop_then_build)
        make_data()

        with pytest.raises(BackupError, match="storing backup-.* in the backup storage "
                                              r"\(S3Storage\) failed, the backup is not kept"):
            backup_create(triggered_by="test")

        [run] = Backup.objects.all()
        assert run.status == Backup.Status.FAILED and run.finished_at
        assert "backup storage (S3Storage) failed" in run.error and run.file_name == ""
        assert not Backup.objects.filter(status=Backup.Status.SUCCESS).exists()
        assert list((tmp_path / "spool").iterdir()) == []  # the spool file is gone too
    finally:
        server.stop()



def test_an_encrypted_backup_round_trips_through_the_storage(backup_storage_kind, settings):
    settings.BACKUP_ENCRYPTION_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
    make_data()
    backup = backup_create(triggered_by="test")
    assert backup.file_name.endswith(".jsonl.gz.enc")
    assert stored_bytes(backup.file_name).startswith(MAGIC)  # sealed before it is stored

    expected = fingerprint()
    wipe_and_change()
    backup_restore(backup.pk)
    assert fingerprint() == expected
