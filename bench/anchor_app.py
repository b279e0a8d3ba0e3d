"""A Celery app on Celery's defaults with no result backend: the anchor for task_roundtrip."""

import os

from celery import Celery

# set_as_current=False: importing this must not make shared tasks publish through it.
anchor = Celery(
    "anchor",
    broker=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"),
    set_as_current=False,
)


@anchor.task(name="anchor.noop")
def noop():
    return None
