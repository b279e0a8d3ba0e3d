"""Login throttling shared by the admin and the API: per client, per username, atomic."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client, override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from accounts.login_throttle import login_attempt
from accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "correct-Horse-battery-9"


def rates(**changes):
    return override_settings(REST_FRAMEWORK={
        **api_settings.user_settings,
        "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, **changes},
    })


@pytest.fixture
def superuser():
    return User.objects.create_superuser("root", "root@example.com", PASSWORD)


def admin_post(client, username, password, **extra):
    return client.post("/admin/login/", {"username": username, "password": password}, **extra)


def test_admin_login_refuses_the_right_password_after_too_many_wrong_ones(superuser):
    client = Client()
    with rates(login="100/minute", login_username="5/minute"):
        codes = [admin_post(client, "root", f"wrong-{n}").status_code for n in range(5)]
        response = admin_post(client, "root", PASSWORD)
    assert codes == [200] * 5  # the form again, with its error
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Too many login attempts" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_admin_login_works_below_the_limit(superuser):
    client = Client()
    with rates(login="100/minute", login_username="5/minute"):
        admin_post(client, "root", "wrong")
        response = admin_post(client, "root", PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(superuser.pk)


def test_admin_login_is_limited_per_client_across_usernames():
    client = Client()
    with rates(login="3/minute", login_username="100/minute"):
        codes = [admin_post(client, f"user{n}", "x").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_username_limit_spans_api_and_admin_and_case(api, superuser):
    with rates(login="100/minute", login_username="3/minute"):
        for name in ("root", "ROOT", "ｒｏｏｔ"):  # one account: case and full-width forms
            api.post("/api/login/", {"username": name, "password": "x"}, format="json")
        response = admin_post(Client(), "root", PASSWORD)
        api_response = api.post("/api/login/", {"username": "root", "password": PASSWORD},
                                format="json")
    assert response.status_code == 429
    assert api_response.status_code == 429
    assert "Too many login attempts" in api_response.json()["detail"]
    assert int(api_response["Retry-After"]) > 0


def _post_login(url: str, username: str) -> int:
    body = json.dumps({"username": username, "password": "wrong"}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_username", [True, False])
def test_concurrent_api_logins_never_exceed_the_limit(live_server, same_username):
    url = f"{live_server.url}/api/login/"
    limits = ({"login": "1000/minute", "login_username": "10/minute"} if same_username
              else {"login": "10/minute", "login_username": "1000/minute"})
    # Fewer threads than the live server's listen backlog, so no connection is refused.
    with rates(**limits), ThreadPoolExecutor(max_workers=8) as pool:
        names = ["victim" if same_username else f"u{n}" for n in range(80)]
        codes = list(pool.map(lambda name: _post_login(url, name), names))
    assert codes.count(429) == 70
    assert codes.count(400) == 10


def test_the_counter_is_atomic_under_threads():
    with rates(login="25/minute", login_username="1000/minute"), \
            ThreadPoolExecutor(max_workers=16) as pool:
        verdicts = list(pool.map(lambda n: login_attempt(client="10.1.1.1", username=f"u{n}"),
                                 range(200)))
    assert sum(v.allowed for v in verdicts) == 25


def test_login_is_allowed_when_redis_is_down(api, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with rates(login="1/minute"):
        codes = [api.post("/api/login/", {"username": "x", "password": "y"},
                          format="json").status_code for _ in range(3)]
    assert codes == [400, 400, 400]


def api_login(address, username, password):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/login/", {"username": username, "password": password}, format="json")


@pytest.fixture
def owner():
    return User.objects.create_user("owner", "owner@example.com", PASSWORD, is_staff=True)


def test_one_client_hammering_a_username_cannot_stop_the_owner_logging_in(owner, settings):
    settings.THROTTLE_LOGIN_DELAY, settings.THROTTLE_LOGIN_DELAY_MAX = 2, 900
    with rates(login="10/minute", login_username="5/minute", login_failures="10/hour"):
        attack = [api_login("10.0.0.66", "owner", f"guess-{n}").status_code for n in range(40)]
        attacker_with_password = api_login("10.0.0.66", "owner", PASSWORD)
        owner_api = api_login("10.0.0.7", "owner", PASSWORD)
        owner_admin = admin_post(Client(REMOTE_ADDR="10.0.0.8"), "owner", PASSWORD)
    assert attack == [400] * 5 + [429] * 35
    assert attacker_with_password.status_code == 429
    assert owner_api.status_code == 200 and owner_api.json()["token"]
    assert owner_admin.status_code == 302


def test_many_clients_failing_slow_down_only_the_clients_that_failed(owner, settings):
    settings.THROTTLE_LOGIN_DELAY, settings.THROTTLE_LOGIN_DELAY_MAX = 2, 5
    with rates(login="1000/minute", login_username="1000/minute", login_failures="3/hour"):
        free = [api_login(f"10.0.1.{n}", "owner", "wrong").status_code for n in range(3)]
        first_over = api_login("10.0.1.3", "owner", "wrong")  # 4th failure: waits 2 s
        second_over = api_login("10.0.1.4", "owner", "wrong")  # 5th: 4 s
        third_over = api_login("10.0.1.5", "owner", "wrong")  # 6th: 8 s, capped at 5
        waits = [api_login(f"10.0.1.{n}", "owner", PASSWORD) for n in (3, 4, 5)]
        earlier = api_login("10.0.1.0", "owner", "wrong")  # failed before the delays began
        clean = api_login("10.0.1.99", "owner", PASSWORD)
    assert free == [400] * 3
    assert [r.status_code for r in (first_over, second_over, third_over)] == [400] * 3
    assert [r.status_code for r in waits] == [429] * 3
    assert [int(r["Retry-After"]) for r in waits] in ([2, 4, 5], [1, 4, 5], [1, 3, 5],
                                                      [2, 3, 5], [1, 3, 4], [2, 4, 4])
    assert "Too many login attempts" in waits[0].json()["detail"]
    assert earlier.status_code == 400  # no wait of its own yet
    assert clean.status_code == 200


def test_attempts_refused_by_the_client_limit_count_against_nothing_else(owner, settings):
    settings.THROTTLE_LOGIN_DELAY = 60
    with rates(login="3/minute", login_username="1000/minute", login_failures="4/hour"):
        codes = [api_login("10.0.2.1", "owner", "wrong").status_code for _ in range(30)]
        # Only 3 failures were counted for the name: a 4th is still free of any delay.
        other = [api_login("10.0.2.2", "owner", "wrong").status_code for _ in range(2)]
    assert codes == [400] * 3 + [429] * 27
    assert other == [400, 400]


def test_a_successful_login_clears_the_clients_failures_for_the_name(owner):
    with rates(login="1000/minute", login_username="3/minute"):
        codes = [api_login("10.0.3.1", "owner", password).status_code
                 for password in ("x", "y", PASSWORD, "x", "y", PASSWORD)]
        after = [api_login("10.0.3.1", "owner", "x").status_code for _ in range(4)]
    assert codes == [400, 400, 200, 400, 400, 200]
    assert after == [400, 400, 400, 429]
