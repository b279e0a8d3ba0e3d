"""Backups in the admin: superuser-only download and restore, files never served."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from maintenance.backups import backup_dir
from maintenance.models import Backup, MaintenanceRun
from maintenance.services import backup_create
from maintenance.tests.helpers import fingerprint, make_data, wipe_and_change
from operations.models import TaskRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path, held_maintenance_queue):
    settings.BACKUP_DIR = tmp_path / "backups"  # restores are queued, never run here


@pytest.fixture
def staff_client(client, django_user_model):
    """Staff with every backup and maintenance permission, but not superuser."""
    staff = django_user_model.objects.create_user("staff", "s@example.com", "pw-Staff-123",
                                                  is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="maintenance"))
    client.force_login(staff)
    return client


def test_superuser_downloads_the_file_as_a_stream(admin_client):
    backup = backup_create(triggered_by="test")

    response = admin_client.get(reverse("admin:maintenance_backup_download", args=[backup.pk]))

    assert response.status_code == 200 and response.streaming
    assert b"".join(response.streaming_content) == (backup_dir() / backup.file_name).read_bytes()
    assert response["X-Backup-SHA256"] == backup.sha256
    assert backup.file_name in response["Content-Disposition"]
    detail = admin_client.get(reverse("admin:maintenance_backup_change", args=[backup.pk]))
    assert detail.status_code == 200
    assert "Rows per table" in detail.content.decode() and backup.sha256 in detail.content.decode()


def test_staff_without_superuser_get_403_on_download_and_restore(staff_client):
    make_data()
    backup = backup_create(triggered_by="test")
    wipe_and_change()
    before = fingerprint()

    download = reverse("admin:maintenance_backup_download", args=[backup.pk])
    restore = reverse("admin:maintenance_backup_restore", args=[backup.pk])
    assert staff_client.get(download).status_code == 403
    assert staff_client.get(restore).status_code == 403
    assert staff_client.post(restore, {"confirm": "yes"}).status_code == 403
    assert staff_client.get(f"{restore}?run=1", HTTP_ACCEPT="application/json"
                            ).status_code == 403
    assert fingerprint() == before and not MaintenanceRun.objects.exists()
    listing = staff_client.get(reverse("admin:maintenance_backup_changelist"))
    assert listing.status_code == 200 and download.encode() not in listing.content


def test_the_backup_directory_is_not_served(admin_client, client, settings):
    backup = backup_create(triggered_by="test")
    name = backup.file_name
    for url in (f"/backups/{name}", f"/var/backups/{name}", f"/static/{name}",
                f"/static/../var/backups/{name}", f"/media/{name}", f"/admin/{name}",
                f"/{name}"):
        assert admin_client.get(url).status_code == 404, url
        assert client.get(url).status_code in (302, 404), url


def test_restore_confirmation_lists_what_is_replaced_then_queues_it(admin_client, admin_user):
    make_data()
    backup = backup_create(triggered_by="test")
    wipe_and_change()
    before = fingerprint()
    url = reverse("admin:maintenance_backup_restore", args=[backup.pk])

    page = admin_client.get(url)

    body = page.content.decode()
    assert page.status_code == 200 and 'id="restore-plan"' in body
    assert "accounts.user" in body and "django_celery_beat.periodictask" in body
    assert 'name="confirm" value="yes"' in body

    queued = admin_client.post(url, {"confirm": "yes"})
    run = MaintenanceRun.objects.get()
    assert queued.status_code == 302 and queued["Location"] == f"{url}?run={run.pk}"
    assert (run.action, run.user, run.queue) == ("restore", admin_user, "maintenance")
    assert fingerprint() == before  # the worker restores, not the request
    progress = admin_client.get(f"{url}?run={run.pk}").content.decode()
    assert 'id="restore-progress"' in progress and 'name="confirm"' not in progress
    state = admin_client.get(f"{url}?run={run.pk}", HTTP_ACCEPT="application/json").json()
    assert (state["status"], state["progress"], state["percent"]) == ("queued", None, 0)


def test_with_the_broker_down_a_restore_is_refused_and_starts_once_it_is_back(
        admin_client, request):
    make_data()
    backup = backup_create(triggered_by="test")  # takes a lock in Redis, so before it is down
    wipe_and_change()
    before = fingerprint()
    broker = request.getfixturevalue("broker_down")
    url = reverse("admin:maintenance_backup_restore", args=[backup.pk])

    refused = admin_client.post(url, {"confirm": "yes"}, follow=True)

    assert refused.status_code == 200 and refused.redirect_chain == [(url, 302)]
    [message] = [str(m) for m in refused.context["messages"]]
    assert message.startswith("Restore not started: Nothing was queued: the broker is "
                              "unreachable (")
    assert 'name="confirm" value="yes"' in refused.content.decode()  # it may be tried again
    assert not MaintenanceRun.objects.exists() and not TaskRun.objects.exists()
    assert fingerprint() == before

    broker.restore()
    queued = admin_client.post(url, {"confirm": "yes"})

    run = MaintenanceRun.objects.get()
    assert queued["Location"] == f"{url}?run={run.pk}"
    assert TaskRun.objects.get().task_id == run.task_id


def test_admin_refuses_an_altered_file_and_changes_nothing(admin_client):
    make_data()
    backup = backup_create(triggered_by="test")
    wipe_and_change()
    before = fingerprint()
    path = backup_dir() / backup.file_name
    path.write_bytes(path.read_bytes()[:-10])
    url = reverse("admin:maintenance_backup_restore", args=[backup.pk])

    page = admin_client.get(url).content.decode()
    assert 'id="confirm-error"' in page and "checksum mismatch" in page
    assert 'name="confirm"' not in page
    refused = admin_client.post(url, {"confirm": "yes"}, follow=True).content.decode()
    assert "Restore refused" in refused and "checksum mismatch" in refused
    assert fingerprint() == before and not MaintenanceRun.objects.exists()


def test_a_restore_page_for_an_unknown_run_is_404(admin_client):
    backup = backup_create(triggered_by="test")
    url = reverse("admin:maintenance_backup_restore", args=[backup.pk])
    assert admin_client.get(f"{url}?run=999").status_code == 404
    assert admin_client.get(f"{url}?run=abc").status_code == 404


def test_restore_action_leads_to_the_confirmation_page(admin_client):
    backup = backup_create(triggered_by="test")
    response = admin_client.post(reverse("admin:maintenance_backup_changelist"),
                                 {"action": "restore_backup", "_selected_action": [backup.pk]})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:maintenance_backup_restore", args=[backup.pk])


def test_deleting_a_backup_in_the_admin_removes_its_file(admin_client):
    backup = backup_create(triggered_by="test")
    path = backup_dir() / backup.file_name
    admin_client.post(reverse("admin:maintenance_backup_delete", args=[backup.pk]),
                      {"post": "yes"})
    assert not Backup.objects.exists() and not path.exists()
