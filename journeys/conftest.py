"""Staff journeys in Chromium against the stack `make run` starts, development settings.

One stack per session: `make run` with DEBUG on, a private Redis, a fresh SQLite database
seeded with demo traffic, email into the suite's SMTP sink. Journeys see it only as a
staff member does: through the browser, the API and the mailbox.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import BASE_DIR, free_port, wait_until

# The first journey also waits for the stack: migrations, demo traffic, workers.
JOURNEY_TIMEOUT_SECONDS = 900
SCREENSHOT_DIR = Path(os.environ.get("JOURNEY_SCREENSHOT_DIR", BASE_DIR / "var" / "journeys"))


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.timeout(JOURNEY_TIMEOUT_SECONDS))
        item.add_marker(pytest.mark.browser)


@dataclass
class Stack:
    url: str
    password: str  # the superuser's, as `make run` printed it
    log_path: Path
    env: dict  # what `make run` was started with (database, Redis, ports)
    redis_url: str

    def manage(self, *args: str) -> str:
        """Run `manage.py` against the stack, as an engineer on its host would."""
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR,
                                env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _read_until(log_path: Path, pattern: str, process, timeout: float) -> re.Match:
    def seen():
        if process.poll() is not None:
            raise AssertionError(f"`make run` exited:\n{log_path.read_text()[-3000:]}")
        return re.search(pattern, log_path.read_text(errors="replace"))

    return wait_until(seen, timeout=timeout, what=pattern, interval=0.3)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def stack(tmp_path_factory, smtp_sink):
    """`make run` as a new user runs it, on free ports, mailing into the SMTP sink."""
    home = tmp_path_factory.mktemp("stack")
    web_port, redis_port = free_port(), free_port()
    url = f"http://127.0.0.1:{web_port}"
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_SUPERUSER_PASSWORD",
                        "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(smtp_sink.env())
    env.update({
        "DATABASE_URL": f"sqlite:///{home / 'stack.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",  # nothing answers: a private Redis
        "WEB_PORT": str(web_port),
        "WORKER_CONCURRENCY": "2",
        "WEB_CONCURRENCY": "2",
        "BACKUP_DIR": str(home / "backups"),
    })
    log_path = home / "run.log"
    with open(log_path, "w") as log:
        make = subprocess.Popen(["make", "run"], cwd=BASE_DIR, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        password = _read_until(log_path, r"created superuser 'admin' with password: (\S+)",
                               make, 300).group(1)
        for worker in ("worker", "mail"):
            _read_until(log_path, rf"{worker}@\S+ ready", make, 600)
        wait_until(lambda: _healthy(url), timeout=120, what="the stack's /healthz", interval=1)
        yield Stack(url=url, password=password, log_path=log_path, env=env,
                    redis_url=env["REDIS_URL"])
    finally:
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        try:
            make.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()


@pytest.fixture(scope="session")
def staff_session(stack, tmp_path_factory) -> Path:
    """Where the superuser's signed-in browser state is kept: the first journey signs in
    through the login page, the others reuse its session (as a staff member's browser
    does; the login throttle would refuse a sign-in per journey)."""
    return tmp_path_factory.mktemp("staff") / "state.json"


@pytest.fixture
def staff_page(browser, stack, staff_session):
    """A 1440×900 Chromium page signed in to the admin as the superuser."""
    state = str(staff_session) if staff_session.exists() else None
    context = browser.new_context(viewport={"width": 1440, "height": 900},
                                  storage_state=state)
    page = context.new_page()
    page.set_default_timeout(20000)
    if state is None:
        page.goto(f"{stack.url}/admin/login/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", stack.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{stack.url}/admin/")
        context.storage_state(path=str(staff_session))
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save what the staff member sees now; the README's screenshots come from these."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def poll(predicate, timeout: float = 60, what: str = "condition"):
    """wait_until with a pace that suits a page polling its own server."""
    return wait_until(predicate, timeout=timeout, what=what, interval=0.5)

