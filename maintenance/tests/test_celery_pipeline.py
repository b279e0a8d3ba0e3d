"""Tasks go through the real Redis broker to a real worker; results land in the database."""

import pytest
from celery import chain, chord, group
from django.conf import settings
from django_celery_results.models import TaskResult

from maintenance import tasks

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_delay_runs_on_worker_and_records_task_result(celery_worker):
    result = tasks.echo.delay({"hello": "world"})

    assert result.get(timeout=30) == {"hello": "world"}
    row = TaskResult.objects.get(task_id=result.id)
    assert row.status == "SUCCESS"
    assert row.task_name == "maintenance.tasks.echo"
    assert row.worker == celery_worker.hostname
    assert row.status == "SUCCESS"  # one row, written once with the outcome
    assert "hello" in row.task_args  # extended results keep the arguments


def test_failure_is_recorded_with_traceback(celery_worker):
    result = tasks.fail.delay("boom")

    with pytest.raises(RuntimeError, match="boom"):
        result.get(timeout=30)
    row = TaskResult.objects.get(task_id=result.id)
    assert row.status == "FAILURE"
    assert "RuntimeError: boom" in row.traceback


def test_chain_group_and_chord_run_through_the_worker(celery_worker):
    assert chain(tasks.echo.s([1, 2, 3]), tasks.total.s()).apply_async().get(timeout=30) == 6
    assert group(tasks.echo.s(n) for n in range(5)).apply_async().get(timeout=30) == [0, 1, 2, 3, 4]
    assert chord(tasks.echo.s(n) for n in range(5))(tasks.total.s()).get(timeout=30) == 10


def test_routes_send_each_app_to_its_queue():
    from celery import current_app

    router = current_app.amqp.router
    assert router.route({}, "notifications.tasks.send_welcome_email")["queue"].name == "email"
    assert router.route({}, "reports.tasks.generate_daily_report")["queue"].name == "reports"
    assert router.route({}, "maintenance.tasks.backup_database")["queue"].name == "maintenance"
    # The console's housekeeping runs beside the nightly cleanup, on the maintenance queue.
    assert router.route({}, "operations.tasks.prune_task_history")["queue"].name == \
        "maintenance"
    assert router.route({}, "something.else")["queue"].name == "default"


def test_celery_configuration_is_safe_for_redis():
    from celery import current_app

    conf = current_app.conf
    assert conf.result_backend == "django-db"
    assert conf.result_extended and not conf.task_track_started  # STARTED: the task history
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert visibility == settings.CELERY_VISIBILITY_TIMEOUT
    assert conf.task_time_limit < visibility
    assert conf.beat_scheduler == "operations.beat:HeartbeatDatabaseScheduler"
