"""Backups are signed with a key from the settings, optionally encrypted, kept in a 0700 dir."""

from __future__ import annotations

import base64
import hashlib
import os
import stat

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from maintenance.backup_crypto import signature_path
from maintenance.backups import BackupError, backup_dir, checksum_path
from maintenance.restore import backup_restore, backup_verify
from maintenance.services import backup_create
from maintenance.tests.helpers import fingerprint, make_data, wipe_and_change

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def backups_in_tmp(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    return settings.BACKUP_DIR


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def stored(backup):
    return backup_dir() / backup.file_name


def test_an_existing_backup_dir_is_made_private(backups_in_tmp):
    backups_in_tmp.mkdir(mode=0o755)
    os.chmod(backups_in_tmp, 0o755)
    backup_create(triggered_by="test")
    assert stat.S_IMODE(os.stat(backups_in_tmp).st_mode) == 0o700


def test_a_file_outside_backup_dir_with_a_recomputed_checksum_is_refused(tmp_path):
    make_data()
    backup = backup_create(triggered_by="test")
    wipe_and_change()
    before = fingerprint()
    data = bytearray(stored(backup).read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy = tmp_path / "elsewhere" / "forged.jsonl.gz"
    copy.parent.mkdir()
    copy.write_bytes(bytes(data))
    checksum_path(copy).write_text(f"{hashlib.sha256(data).hexdigest()}  {copy.name}\n")
    signature_path(copy).write_text(signature_path(stored(backup)).read_text())

    with pytest.raises(BackupError, match="signature does not verify"):
        backup_restore(str(copy))
    signature_path(copy).unlink()
    with pytest.raises(BackupError, match="no signature"):
        backup_restore(str(copy))
    assert fingerprint() == before


def test_a_file_in_backup_dir_whose_row_checksum_was_rewritten_is_refused():
    make_data()
    backup = backup_create(triggered_by="test")
    path = stored(backup)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    type(backup).objects.filter(pk=backup.pk).update(sha256=hashlib.sha256(data).hexdigest())
    with pytest.raises(BackupError, match="signature does not verify"):
        backup_verify(backup.pk)


def test_a_backup_signed_with_another_key_is_refused(settings):
    backup = backup_create(triggered_by="test")
    backup_verify(backup.pk)
    settings.BACKUP_HMAC_KEY = "another installation's key"
    with pytest.raises(BackupError, match="signature does not verify"):
        backup_verify(backup.pk)


def test_an_encrypted_backup_reveals_no_hash_or_token_and_restores(settings):
    settings.BACKUP_ENCRYPTION_KEY = key()
    make_data()
    secrets = [u.password.encode() for u in get_user_model().objects.all()]
    secrets += [t.key.encode() for t in Token.objects.all()]
    before = fingerprint()
    backup = backup_create(triggered_by="test")
    data = stored(backup).read_bytes()
    assert backup.file_name.endswith(".jsonl.gz.enc")
    assert secrets and not [s for s in secrets if s in data]
    assert b"backoffice-backup" not in data
    wipe_and_change()
    backup_restore(backup.pk)
    assert fingerprint() == before


def test_an_encrypted_backup_with_the_wrong_or_no_key_is_refused(settings):
    settings.BACKUP_ENCRYPTION_KEY = key()
    backup = backup_create(triggered_by="test")
    settings.BACKUP_ENCRYPTION_KEY = key()
    with pytest.raises(BackupError, match="cannot be decrypted"):
        backup_verify(backup.pk)
    settings.BACKUP_ENCRYPTION_KEY = ""
    with pytest.raises(BackupError, match="BACKUP_ENCRYPTION_KEY is not set"):
        backup_verify(backup.pk)


def test_a_large_encrypted_backup_spans_many_chunks(settings, monkeypatch):
    from maintenance import backup_crypto

    monkeypatch.setattr(backup_crypto, "CHUNK", 512)  # many chunks from a small database
    settings.BACKUP_ENCRYPTION_KEY = key()
    make_data()
    before = fingerprint()
    backup = backup_create(triggered_by="test")
    assert backup.size_bytes > 4 * 512
    wipe_and_change()
    backup_restore(backup.pk)
    assert fingerprint() == before
