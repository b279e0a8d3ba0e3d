"""What a restore refuses before it reads a byte: a Backup row whose file lies outside the
backup directory, and a plain (unencrypted) backup while encryption is configured."""

from __future__ import annotations

import base64
import os
import shutil

import pytest
from django.urls import reverse

from maintenance import restore
from maintenance.backup_crypto import signature_path
from maintenance.backups import BackupError, backup_dir, checksum_path
from maintenance.models import Backup, MaintenanceRun
from maintenance.restore import backup_restore, backup_verify
from maintenance.services import backup_create, backup_delete
from maintenance.tests.helpers import fingerprint, make_data, wipe_and_change

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path, held_maintenance_queue):
    settings.BACKUP_DIR = tmp_path / "backups"  # restores are queued, never run here


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def move_out(backup: Backup, target_dir) -> None:
    """Move a good backup's file, checksum and signature to `target_dir` (outside)."""
    target_dir.mkdir(exist_ok=True)
    path = backup_dir() / backup.file_name
    for each in (path, checksum_path(path), signature_path(path)):
        shutil.move(each, target_dir / each.name)


def escaping_names(backup: Backup, tmp_path) -> dict[str, str]:
    """Names that lead out of BACKUP_DIR to a real, correctly signed backup."""
    outside = tmp_path / "outside"
    move_out(backup, outside)
    name = backup.file_name
    link = backup_dir() / f"link-{name}"
    os.symlink(outside / name, link)
    for sidecar in (checksum_path, signature_path):
        os.symlink(sidecar(outside / name), sidecar(link))
    return {"relative": f"../outside/{name}", "absolute": str(outside / name),
            "symlink": link.name, "dotted": f"./../outside/{name}"}


@pytest.fixture
def nothing_read(monkeypatch):
    """Fail the test if the restore opens, hashes or checks the signature of a file."""
    def refuse(*args, **kwargs):
        raise AssertionError("a file was read before the path was checked")
    for name in ("file_sha256", "signature_valid", "_read_header", "open_backup"):
        monkeypatch.setattr(restore, name, refuse)


@pytest.mark.parametrize("kind", ["relative", "absolute", "symlink", "dotted"])
def test_a_row_whose_file_lies_outside_the_backup_dir_is_refused(tmp_path, kind, nothing_read):
    make_data()
    backup = backup_create(triggered_by="test")
    name = escaping_names(backup, tmp_path)[kind]
    Backup.objects.filter(pk=backup.pk).update(file_name=name)
    wipe_and_change()
    before = fingerprint()

    with pytest.raises(BackupError, match="outside the backup directory"):
        backup_verify(backup.pk)
    with pytest.raises(BackupError, match="outside the backup directory"):
        backup_restore(backup.pk)
    assert fingerprint() == before


def test_the_page_refuses_a_file_outside_the_backup_dir(admin_client, tmp_path, settings,
                                                        nothing_read):
    settings.DEBUG = True  # as `make run` serves it
    make_data()
    backup = backup_create(triggered_by="test")
    Backup.objects.filter(pk=backup.pk).update(
        file_name=escaping_names(backup, tmp_path)["relative"])
    wipe_and_change()
    before = fingerprint()
    url = reverse("admin:maintenance_backup_restore", args=[backup.pk])

    page = admin_client.get(url)
    assert page.status_code == 400
    body = page.content.decode()
    assert 'id="confirm-error"' in body and "outside the backup directory" in body
    assert 'name="confirm"' not in body
    refused = admin_client.post(url, {"confirm": "yes"})
    assert refused.status_code == 400
    assert "Restore refused" in refused.content.decode()
    assert "outside the backup directory" in refused.content.decode()
    assert not MaintenanceRun.objects.exists() and fingerprint() == before
    download = reverse("admin:maintenance_backup_download", args=[backup.pk])
    assert admin_client.get(download).status_code == 404


def test_deleting_a_row_whose_file_lies_outside_keeps_that_file(tmp_path):
    backup = backup_create(triggered_by="test")
    Backup.objects.filter(pk=backup.pk).update(
        file_name=escaping_names(backup, tmp_path)["relative"])
    outside = tmp_path / "outside" / backup.file_name
    backup_delete(backup=Backup.objects.get(pk=backup.pk))
    assert outside.is_file() and not Backup.objects.exists()


# --- A plain backup while encryption is configured ------------------------------------------


def test_a_plain_backup_is_refused_while_encryption_is_configured(settings):
    make_data()
    plain = backup_create(triggered_by="before encryption")
    settings.BACKUP_ENCRYPTION_KEY = key()
    encrypted = backup_create(triggered_by="encrypted")
    wipe_and_change()
    before = fingerprint()

    with pytest.raises(BackupError, match="not encrypted"):
        backup_verify(plain.pk)
    with pytest.raises(BackupError, match="not encrypted"):
        backup_restore(plain.pk)
    assert fingerprint() == before

    backup_restore(encrypted.pk)  # an encrypted one restores as before
    settings.BACKUP_ENCRYPTION_KEY = ""
    backup_verify(plain.pk)  # without a key configured a plain backup is what there is


def test_a_plain_file_named_like_an_encrypted_one_is_refused(settings):
    plain = backup_create(triggered_by="test")
    path = backup_dir() / plain.file_name
    renamed = path.with_name(path.name + ".enc")
    for sidecar in (checksum_path, signature_path):
        sidecar(path).rename(sidecar(renamed))
    path.rename(renamed)
    Backup.objects.filter(pk=plain.pk).update(file_name=renamed.name)
    settings.BACKUP_ENCRYPTION_KEY = key()
    with pytest.raises(BackupError, match="not encrypted"):
        backup_verify(plain.pk)


def test_the_page_refuses_a_plain_backup_while_encryption_is_configured(admin_client,
                                                                         settings):
    settings.DEBUG = True  # as `make run` serves it
    make_data()
    plain = backup_create(triggered_by="test")
    settings.BACKUP_ENCRYPTION_KEY = key()
    wipe_and_change()
    before = fingerprint()
    url = reverse("admin:maintenance_backup_restore", args=[plain.pk])

    page = admin_client.get(url)
    assert page.status_code == 400
    body = page.content.decode()
    assert "not encrypted" in body and 'name="confirm"' not in body
    refused = admin_client.post(url, {"confirm": "yes"})
    assert refused.status_code == 400 and "not encrypted" in refused.content.decode()
    assert not MaintenanceRun.objects.exists() and fingerprint() == before
