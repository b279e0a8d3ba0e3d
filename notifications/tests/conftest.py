"""Fixtures shared by the notifications tests."""

import pytest
from django.conf import settings

from backoffice.celery import app
from tests.broker import drop_waiting_messages, end_waiting_pops


@pytest.fixture
def only_our_workers():
    """Workers already running (the session's) consume nothing while the test owns the
    queues; what the test leaves queued is dropped before they consume again."""
    others = [name for reply in app.control.ping(timeout=1) or [] for name in reply]
    queues = settings.CELERY_QUEUE_NAMES
    for queue in queues if others else ():
        app.control.cancel_consumer(queue, destination=others, reply=True, timeout=5)
    if others:
        end_waiting_pops()
    yield
    drop_waiting_messages(queues)
    for queue in queues if others else ():  # in order, so theirs is as it was
        app.control.add_consumer(queue, destination=others, reply=True, timeout=5)
