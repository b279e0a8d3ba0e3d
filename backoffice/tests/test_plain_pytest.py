"""`pytest` on its own, without `make test`, starts the Redis it needs."""

import os
import subprocess
import sys

import pytest

from backoffice.launcher import BASE_DIR, redis_server_binary
from tests.processes import free_port


@pytest.mark.slow
def test_plain_pytest_starts_a_redis_when_none_answers():
    if redis_server_binary() is None:
        pytest.skip("no redis-server binary")
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("TEST_RUN_CLAIM", "TEST_REDIS_URLS", "PYTEST_XDIST_WORKER")}
    env["TEST_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         "accounts/tests/test_settings_used.py"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=240)

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "started a private Redis" in done.stdout + done.stderr
    assert "passed" in done.stdout
