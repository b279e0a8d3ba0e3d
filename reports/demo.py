"""Realistic demo traffic for a fresh install, so the charts have something true to show.

The shape: weekdays busier than weekends, a daytime peak, a few percent of errors with a
bad day now and then, and slow endpoints (register and login hash passwords).
"""

from __future__ import annotations

import datetime as dt
import math
import random

from django.contrib.auth import get_user_model

from reports.models import ApiRequest
from reports.periods import day_bounds

# route, method, weight, median ms, error rate
ENDPOINTS = [
    ("/api/public/", "GET", 40, 12, 0.005),
    ("/api/protected/", "GET", 22, 18, 0.04),
    ("/api/profile/", "GET", 14, 25, 0.01),
    ("/api/profile/", "PATCH", 4, 40, 0.06),
    ("/api/login/", "POST", 9, 180, 0.12),
    ("/api/logout/", "POST", 3, 15, 0.01),
    ("/api/register/", "POST", 4, 260, 0.15),
    ("/api/password-reset/", "POST", 2, 60, 0.02),
    ("/api/password-reset/confirm/", "POST", 2, 220, 0.2),
]
HOURLY = [0.2, 0.15, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.3, 1.3,
          1.2, 1.3, 1.4, 1.3, 1.2, 1.0, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]
BATCH = 5000


def demo_users(count: int) -> list[int]:
    users = get_user_model()
    existing = list(users.objects.filter(username__startswith="demo_user_").values_list(
        "pk", flat=True))
    missing = [
        users(username=f"demo_user_{n:03d}", email=f"demo_user_{n:03d}@example.com",
              password="!")  # unusable password: demo users cannot log in
        for n in range(len(existing), count)
    ]
    users.objects.bulk_create(missing)
    return list(users.objects.filter(username__startswith="demo_user_").values_list(
        "pk", flat=True))


def _requests_for_day(day: dt.date, per_day: int, rng: random.Random, user_ids, ips):
    weekend = day.weekday() >= 5
    bad_day = rng.random() < 0.07  # an incident now and then
    volume = int(per_day * (0.45 if weekend else 1.0) * rng.uniform(0.85, 1.15))
    start, _ = day_bounds(day)
    weights = [endpoint[2] for endpoint in ENDPOINTS]
    for _ in range(volume):
        route, method, _w, median_ms, error_rate = rng.choices(ENDPOINTS, weights)[0]
        hour = rng.choices(range(24), HOURLY)[0]
        moment = start + dt.timedelta(hours=hour, seconds=rng.uniform(0, 3600))
        error_rate *= 4 if bad_day else 1
        roll = rng.random()
        if roll < error_rate * 0.15:
            status = 500
        elif roll < error_rate:
            status = rng.choice([400, 401, 403, 404, 429])
        else:
            status = 201 if route == "/api/register/" else 200
        duration = median_ms * math.exp(rng.gauss(0, 0.45)) * (2.5 if bad_day else 1)
        authenticated = route not in {"/api/public/", "/api/register/", "/api/login/"}
        yield ApiRequest(
            timestamp=moment, method=method, route=route, status_code=status,
            user_id=rng.choice(user_ids) if authenticated and user_ids else None,
            ip=rng.choice(ips), duration_ms=round(duration, 2),
        )


def demo_traffic_seed(*, days: int, per_day: int, end: dt.date, seed: int = 7,
                      progress=None) -> int:
    """Create `days` days of demo requests ending on `end`; returns the number created."""
    rng = random.Random(seed)
    user_ids = demo_users(60)
    ips = [f"10.{rng.randint(0, 20)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
           for _ in range(400)]
    created = 0
    for offset in range(days - 1, -1, -1):
        day = end - dt.timedelta(days=offset)
        batch = []
        for row in _requests_for_day(day, per_day, rng, user_ids, ips):
            batch.append(row)
            if len(batch) >= BATCH:
                ApiRequest.objects.bulk_create(batch)
                created += len(batch)
                batch = []
        ApiRequest.objects.bulk_create(batch)
        created += len(batch)
        if progress:
            progress(days - offset, days, day)
    return created
