"""`make run` end to end: private Redis, migrate, superuser, web + worker + beat, API
requests counted on the dashboard (development settings, DEBUG on), Ctrl-C."""

import json
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import redis

from backoffice.launcher import redis_data_dir
from tests.processes import free_port, wait_until

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def session_processes(sid: int) -> list[str]:
    out = subprocess.run(["ps", "-e", "-o", "sid=,pid=,args="], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.split()[0] == str(sid)]


def read_until(stream_lines, pattern, process, timeout):
    def seen():
        for line in stream_lines():
            match = re.search(pattern, line)
            if match:
                return match
        if process.poll() is not None:
            raise AssertionError(f"`make run` exited before printing {pattern!r}")
        return None

    return wait_until(seen, timeout, repr(pattern), interval=0.2)


def get_health(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def api_get(port, path) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def admin_login(port, username, password):
    """A real login through the admin's form (CSRF cookie + token); returns the opener."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    login_url = f"http://127.0.0.1:{port}/admin/login/"
    with opener.open(login_url, timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username,
                                   "password": password, "next": "/admin/"}).encode()
    with opener.open(login_url, data=data, timeout=10) as response:
        assert response.url.endswith("/admin/"), response.url  # logged in, redirected
    return opener


def today_so_far(opener, port) -> tuple[int, int]:
    """The "Today so far" card of the dashboard: (requests, failed)."""
    with opener.open(f"http://127.0.0.1:{port}/admin/", timeout=10) as response:
        page = response.read().decode()
    card = re.search(r'id="kpi-today">\s*([\d,]+)\s*</p>\s*<p[^>]*>\s*[^<]*?([\d,]+) failed',
                     page)
    assert card, "no Today so far card on the dashboard"
    return tuple(int(group.replace(",", "")) for group in card.groups())


def press_maintenance_button(opener, port, key: str) -> dict:
    """POST one Maintenance-page button (CSRF token from the page), then follow the run's
    status until it has finished; returns the last status."""
    base = f"http://127.0.0.1:{port}/admin/maintenance/maintenancerun"
    with opener.open(f"{base}/actions/", timeout=10) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    request = urllib.request.Request(
        f"{base}/actions/{key}/", headers={"Accept": "application/json"},
        data=urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode())
    with opener.open(request, timeout=10) as response:
        assert response.status == 202
        run = json.load(response)["run"]

    def finished():
        with opener.open(f"{base}/{run['id']}/status.json", timeout=10) as response:
            current = json.load(response)
        return current if current["finished"] else None

    return wait_until(finished, timeout=60, what=f"the {key} run to finish", interval=0.5)


def post_json(port, path, body) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def caught_mail_to(opener, port, address: str, subject_word: str) -> str | None:
    """The text body of the newest caught message to `address` whose subject has
    `subject_word`, read through the admin's Caught mail pages as staff read it."""
    base = f"http://127.0.0.1:{port}/admin/devmail/caughtemail/"
    with opener.open(f"{base}?q={urllib.parse.quote(subject_word)}", timeout=10) as response:
        listing = response.read().decode()
    for pk in re.findall(r'href="/admin/devmail/caughtemail/(\d+)/change/', listing):
        with opener.open(f"{base}{pk}/change/", timeout=10) as response:
            page = response.read().decode()
        if address in page:
            return re.search(r'id="caught-text">(.*?)</pre>', page, re.S).group(1)
    return None


def reset_password_through_caught_mail(admin, port, user: str, old: str, new: str) -> None:
    """Register, read the caught welcome email, ask for a reset, follow the caught link, set
    a new password on the page, log in with it."""
    address = f"{user}@example.com"
    status, body = post_json(port, "/api/register/", {"username": user, "email": address,
                                                     "password": old})
    assert status == 201, body
    wait_until(lambda: caught_mail_to(admin, port, address, "Welcome"), timeout=60,
               what="the welcome email in Caught mail", interval=0.5)
    assert post_json(port, "/api/password-reset/", {"email": address})[0] == 200
    text = wait_until(lambda: caught_mail_to(admin, port, address, "password"), timeout=60,
                      what="the reset email in Caught mail", interval=0.5)
    link = re.search(r"(http://127\.0\.0\.1:\d+/account/reset/\S+)", text).group(1)
    link = link.replace("&amp;", "&")
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with browser.open(link, timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "new_password1": new,
                                   "new_password2": new}).encode()
    request = urllib.request.Request(link, data=data, headers={"Referer": link})
    with browser.open(request, timeout=10) as response:
        assert "Your password has been changed" in response.read().decode()
    assert post_json(port, "/api/login/", {"username": user, "password": new})[0] == 200


@pytest.mark.worker
def test_make_run_starts_everything_and_ctrl_c_stops_everything(tmp_path):
    redis_port, web_port, catcher_port = free_port(), free_port(), free_port()
    log_path = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_SUPERUSER_PASSWORD",
                         "DEBUG", "MAIL_CATCHER", "SITE_URL"}
           and not k.startswith("EMAIL_")}  # the development defaults: DEBUG on, mail caught
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",  # nothing answers: a private Redis
        "WEB_PORT": str(web_port),
        "MAIL_CATCHER_PORT": str(catcher_port),
        "WORKER_CONCURRENCY": "1",
        "WEB_CONCURRENCY": "1",
        "DEMO_DATA": "false",  # seed_demo has its own tests; keep this one quick
    })
    with open(log_path, "w") as log:
        make = subprocess.Popen(["make", "run"], cwd=BASE_DIR, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def lines():
        return log_path.read_text(errors="replace").splitlines()

    try:
        password = read_until(lines, r"created superuser 'admin' with password: (\S+)", make,
                              240).group(1)
        read_until(lines, rf"admin: http://127\.0\.0\.1:{web_port}/admin/", make, 60)
        assert "started a private Redis" in log_path.read_text()
        for worker in ("worker", "mail"):  # every queue, and transactional mail alone
            read_until(lines, rf"{worker}@\S+ ready", make, 90)
        def healthy():
            try:
                return get_health(web_port)[0] == 200
            except OSError:  # web not listening yet
                return False

        # web, private Redis, worker and beat all answer
        wait_until(healthy, 90, "/healthz to answer 200", interval=1)
        assert len(password) >= 12

        # The web process logs its own /api/ requests with DEBUG on (query logging wraps
        # its cursor); the dashboard counts what reached the database.
        statuses = [api_get(web_port, path) for path in
                    ("/api/public/", "/api/public/", "/api/public/", "/api/protected/",
                     "/api/no-such-route/")]
        assert statuses == [200, 200, 200, 401, 404]
        # The page of the password-reset link renders with DEBUG on; a damaged link says so.
        assert api_get(web_port, "/account/reset/?uid=MQ&token=damaged") == 400
        admin = admin_login(web_port, "admin", password)

        def all_counted():
            shown = today_so_far(admin, web_port)
            return shown if shown[0] >= len(statuses) else None

        shown = wait_until(all_counted, timeout=30, what="the API requests on the dashboard",
                           interval=0.5)
        assert shown == (len(statuses), 2)  # requests, of which failed (401 and 404)

        # A Maintenance button through web, broker and worker on the development settings:
        # its outcome is read back from the task history.
        final = press_maintenance_button(admin, web_port, "daily_report")
        assert final["status"] == "success", final
        assert final["result"]["success_rate"].endswith("%")

        # Email goes to the mail catcher: the welcome and reset emails are read in the admin
        # and the reset link from the caught email works.
        assert "email is caught, not sent" in log_path.read_text()
        reset_password_through_caught_mail(admin, web_port, "caughtuser",
                                           "Harbour-lights-2026", "Brand-new-Pass-2026")
    finally:
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        make.wait(timeout=60)

    wait_until(lambda: not session_processes(make.pid), 10,
               "no process of `make run` left behind after Ctrl-C", interval=0.2)
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=redis_port, socket_connect_timeout=1).ping()
    assert "[backoffice] stopped" in log_path.read_text()
    assert any(redis_data_dir(redis_port).rglob("appendonly*")), "no append-only file"
    shutil.rmtree(redis_data_dir(redis_port))


@pytest.mark.django_db
def test_ensure_superuser_creates_once(django_user_model, monkeypatch, capsys):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Given-Password-123")
    call_command("ensure_superuser")
    call_command("ensure_superuser")

    out = capsys.readouterr().out
    assert "created superuser 'admin' (password from DJANGO_SUPERUSER_PASSWORD)" in out
    assert "superuser exists: admin" in out
    user = django_user_model.objects.get(is_superuser=True)
    assert user.check_password("Given-Password-123")
