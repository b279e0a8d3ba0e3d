"""Benchmarks refuse to run on a database that is not named for them."""

import os
import subprocess
import sys

import pytest

from tests.processes import BASE_DIR

pytestmark = pytest.mark.slow  # starts `python -m bench` in a subprocess


@pytest.mark.parametrize("url", ["postgres://postgres@127.0.0.1:5432/test",
                                 "sqlite:////tmp/backoffice-scratch.sqlite3"])
def test_a_database_not_named_for_benchmarks_is_refused_before_anything_runs(url):
    env = {**os.environ, "DATABASE_URL": url,
           "DJANGO_SETTINGS_MODULE": "backoffice.settings.bench"}
    done = subprocess.run([sys.executable, "-m", "bench", "task_roundtrip"], cwd=BASE_DIR,
                          env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 1
    assert "refusing to run on database" in done.stderr and "'bench'" in done.stderr
    assert "ours:" not in done.stdout  # nothing was started
    assert not os.path.exists("/tmp/backoffice-scratch.sqlite3")  # not even created
