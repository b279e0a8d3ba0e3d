"""The Celery application: `celery -A backoffice worker` and `celery -A backoffice beat`."""

import os
from functools import cache

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.dev")

app = Celery("backoffice")
# Every Celery setting lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@cache
def import_task_modules() -> None:
    """Import every app's tasks module, once per process (what a worker does at start)."""
    app.loader.import_default_modules()
