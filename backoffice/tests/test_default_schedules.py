"""Default schedules after `migrate`, on a database of its own: created from the registry,
never duplicated, staff edits kept; a partial `migrate` without django_celery_beat's tables
does not fail."""

import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest

from backoffice.schedules import default_schedules
from tests.processes import BASE_DIR, subprocess_env


def manage(database, *args) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR,
                          env=subprocess_env(DATABASE_URL=f"sqlite:///{database}"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def query(database, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(database)) as connection, connection:
        return connection.execute(sql).fetchall()


@pytest.mark.slow
def test_migrate_creates_the_registrys_schedules_once_and_keeps_staff_edits(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    declared = {entry["name"] for entry in default_schedules()}

    manage(database, "migrate", "reports", "0004", "--noinput")  # beat's tables not created
    tables = {name for (name,) in query(database, "SELECT name FROM sqlite_master")}
    assert "reports_apirequest" in tables
    assert "django_celery_beat_periodictask" not in tables

    manage(database, "migrate", "--noinput")
    rows = query(database, "SELECT name, task FROM django_celery_beat_periodictask")
    assert {name for name, _ in rows} == declared
    assert ("Prune task history", "operations.tasks.prune_task_history") in rows

    query(database, "UPDATE django_celery_beat_periodictask SET enabled = 0, "
                    "description = 'ours' WHERE name = 'Daily report'")
    manage(database, "migrate", "--noinput")  # nothing to apply; post_migrate still runs
    out = manage(database, "setup_schedules")

    assert sorted(query(database, "SELECT name FROM django_celery_beat_periodictask")) == \
        sorted((name,) for name in declared)  # no duplicates
    assert query(database, "SELECT enabled, description FROM django_celery_beat_periodictask "
                           "WHERE name = 'Daily report'") == [(0, "ours")]
    assert out.splitlines() == [f"{name}: exists" for name in
                                (entry["name"] for entry in default_schedules())]
