"""Restore from the admin runs on a worker of the maintenance queue, one at a time, with its
progress readable while it runs and its outcome recorded like any maintenance run."""

from __future__ import annotations

import base64
import os
import shutil

import pytest
from django.urls import reverse

from maintenance import actions
from maintenance.backup_crypto import signature_path
from maintenance.backups import backup_dir, checksum_path
from maintenance.models import Backup, MaintenanceRun
from maintenance.services import backup_create, backup_delete
from maintenance.tests.helpers import fingerprint, make_data, wipe_and_change
from tests.processes import CeleryWorker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def held_queue(celery_worker, held_maintenance_queue):
    """The worker takes no maintenance work until the test calls the returned release()."""
    return held_maintenance_queue


@pytest.fixture
def backup():
    """A backup of a little of everything, in the BACKUP_DIR the worker uses too."""
    make_data()
    made = backup_create(triggered_by="test")
    yield made
    backup_delete(backup=made)


def follow(client, url, run, timeout=90) -> dict:
    def finished():
        state = client.get(f"{url}?run={run.pk}", HTTP_ACCEPT="application/json").json()
        return state if state["finished"] else None

    return wait_until(finished, timeout, f"restore run {run.pk} to finish", interval=0.2)


def test_restore_runs_on_the_worker_once_with_progress(admin_client, admin_user, backup,
                                                       held_queue):
    before = fingerprint()
    wipe_and_change()
    url = reverse("admin:maintenance_backup_restore", args=[backup.pk])

    first = admin_client.post(url, {"confirm": "yes"})
    second = admin_client.post(url, {"confirm": "yes"}, follow=True)  # a double click
    held_queue()

    run = MaintenanceRun.objects.get(action="restore")
    assert first["Location"] == f"{url}?run={run.pk}"
    assert "already in flight" in second.content.decode()
    assert (run.user, run.queue) == (admin_user, "maintenance")
    final = follow(admin_client, url, run)
    assert final["status"] == "success", final
    assert final["progress"] == {"done": backup.total_rows, "total": backup.total_rows}
    assert final["percent"] == 100
    assert fingerprint() == before
    page = admin_client.get(reverse("admin:maintenance_actions")).content.decode()
    assert f'data-run-id="{run.pk}" data-status="success"' in page
    assert "Rows restored" in page


def test_a_file_altered_after_queueing_is_refused_by_the_worker(admin_client, backup,
                                                                held_queue):
    wipe_and_change()
    before = fingerprint()
    url = reverse("admin:maintenance_backup_restore", args=[backup.pk])
    admin_client.post(url, {"confirm": "yes"})
    path = backup_dir() / backup.file_name
    path.write_bytes(path.read_bytes()[:-10])
    held_queue()

    final = follow(admin_client, url, MaintenanceRun.objects.get(action="restore"))

    assert final["status"] == "failed"
    assert "checksum mismatch" in final["error"] and final["progress"]["done"] == 0
    assert fingerprint() == before
    page = admin_client.get(reverse("admin:maintenance_actions")).content.decode()
    assert "checksum mismatch" in page


def test_a_row_pointed_outside_the_backup_dir_after_queueing_is_refused_by_the_worker(
        admin_client, backup, held_queue, tmp_path):
    wipe_and_change()
    before = fingerprint()
    url = reverse("admin:maintenance_backup_restore", args=[backup.pk])
    admin_client.post(url, {"confirm": "yes"})
    outside = tmp_path / "outside"
    outside.mkdir()
    path = backup_dir() / backup.file_name
    for each in (path, checksum_path(path), signature_path(path)):
        shutil.copy(each, outside / each.name)  # a good, signed file, just elsewhere
    Backup.objects.filter(pk=backup.pk).update(file_name=str(outside / backup.file_name))
    held_queue()

    final = follow(admin_client, url, MaintenanceRun.objects.get(action="restore"))

    assert final["status"] == "failed"
    assert "outside the backup directory" in final["error"]
    assert fingerprint() == before


def test_a_worker_with_an_encryption_key_refuses_a_plain_backup(admin_client, admin_user,
                                                                 backup,
                                                                 held_maintenance_queue):
    """The session's workers (no key) stay off the maintenance queue; a worker configured
    with BACKUP_ENCRYPTION_KEY takes the restore, and refuses the plain file."""
    wipe_and_change()
    before = fingerprint()
    worker = CeleryWorker(concurrency=1, queues=("maintenance",), extra_env={
        "BACKUP_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode()}).start()
    try:
        run = actions.restore_start(backup=backup, user=admin_user)
        url = reverse("admin:maintenance_backup_restore", args=[backup.pk])
        final = follow(admin_client, url, run)
    finally:
        worker.stop()

    assert final["status"] == "failed"
    assert "not encrypted" in final["error"]
    assert fingerprint() == before
