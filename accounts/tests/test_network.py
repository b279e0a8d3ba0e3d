"""client_ip believes X-Forwarded-For only from trusted proxies."""

import pytest
from django.test import RequestFactory

from accounts.network import client_ip


def request(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        ([], "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # no trusted proxy: header ignored
        (["10.0.0.0/8"], "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # not from the proxy
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
        (["10.0.0.0/8"], "10.0.0.2", "junk, 198.51.100.7", "198.51.100.7"),
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.7, junk", "10.0.0.2"),
        (["10.0.0.1"], "10.0.0.1", " 2001:db8::1 ", "2001:db8::1"),
        ([], "not-an-ip", None, None),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    assert client_ip(request(remote, forwarded)) == expected


@pytest.mark.slow
def test_bad_trusted_proxy_setting_stops_start_up_with_one_line():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.DEBUG"],
        env={"DJANGO_SETTINGS_MODULE": "backoffice.settings.dev", "TRUSTED_PROXIES": "nonsense",
             "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr.strip().splitlines()[-1]
