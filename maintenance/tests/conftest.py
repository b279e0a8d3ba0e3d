"""Fixtures of the maintenance tests."""

import uuid

import pytest
from celery import current_app

from maintenance.actions import QUEUE
from tests.broker import drop_waiting_messages, end_waiting_pops


@pytest.fixture
def held_maintenance_queue():
    """No worker of this run takes maintenance work during the test (there may be none);
    the test may call the yielded `release()` to let them. What still waits at the end is
    dropped, so no later test's worker runs it against that test's rows."""
    control = current_app.control
    held = [name for reply in control.cancel_consumer(QUEUE, reply=True, timeout=0.5) or []
            for name in reply]
    if held:
        end_waiting_pops()

    def release():
        if held:
            control.add_consumer(QUEUE, destination=list(held), reply=True)
            held.clear()

    yield release
    drop_waiting_messages([QUEUE])
    release()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A real S3 server (SeaweedFS) for the session of this test process."""
    from tests.object_storage import SeaweedS3

    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs")).start()
    server.bucket = server.new_bucket()  # one bucket; each test has its own prefix
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def backup_storage_kind(request, settings, tmp_path):
    """Backups in a private local directory, then in a SeaweedFS bucket (with BACKUP_DIR
    only the spool): each test using this runs against both."""
    settings.BACKUP_DIR = tmp_path / "backups"
    if request.param == "s3":
        server = request.getfixturevalue("seaweedfs")
        prefix = f"office/{uuid.uuid4().hex[:8]}/backups"
        settings.STORAGES = {**settings.STORAGES,
                             "backups": server.storage_setting(server.bucket, prefix)}
    return request.param
