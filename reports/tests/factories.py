"""Known synthetic traffic for report tests."""

import datetime as dt

from reports.models import ApiRequest
from reports.periods import day_bounds

DAY = dt.date(2026, 3, 10)  # a Tuesday


def log(day, *, hour=12, minute=0, second=0, method="GET", route="/api/public/", status=200,
        user=None, ip="10.0.0.1", ms=10.0):
    start, _ = day_bounds(day)
    return ApiRequest.objects.create(
        timestamp=start + dt.timedelta(hours=hour, minutes=minute, seconds=second),
        method=method, route=route, status_code=status, user=user, ip=ip, duration_ms=ms,
    )


def known_day(users, day=DAY):
    """20 requests with durations 1..20 ms and a known mix; plus rows just outside the day."""
    alice, bob = users
    plan = (
        # (count, method, route, status, user, ip)
        (8, "GET", "/api/public/", 200, None, "10.0.0.1"),
        (2, "GET", "/api/public/", 302, None, "10.0.0.2"),
        (5, "GET", "/api/profile/", 200, alice, "10.0.0.3"),
        (1, "PATCH", "/api/profile/", 404, bob, "10.0.0.3"),
        (2, "POST", "/api/login/", 200, bob, "10.0.0.4"),
        (1, "POST", "/api/login/", 401, None, "10.0.0.4"),
        (1, "GET", "/api/protected/", 500, alice, "10.0.0.5"),
    )
    ms = 1.0
    for count, method, route, status, user, ip in plan:
        for _ in range(count):
            log(day, method=method, route=route, status=status, user=user, ip=ip, ms=ms,
                hour=int(ms) % 24)
            ms += 1
    # Neighbours: the last instant of the day before and the first of the day after.
    start, end = day_bounds(day)
    ApiRequest.objects.create(timestamp=start - dt.timedelta(microseconds=1), method="GET",
                              route="/api/public/", status_code=500, ip="9.9.9.9",
                              duration_ms=9999)
    ApiRequest.objects.create(timestamp=end, method="GET", route="/api/public/",
                              status_code=500, ip="9.9.9.9", duration_ms=9999)
