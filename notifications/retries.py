"""When a transient delivery failure is tried again; shared by transactional and bulk email."""

from __future__ import annotations

import random

from django.conf import settings


def retry_delay(*, attempt: int) -> float:
    """Exponential backoff with jitter: uniform(ceiling / 2, ceiling), where ceiling is
    min(EMAIL_RETRY_BACKOFF_MAX_SECONDS, EMAIL_RETRY_BACKOFF_SECONDS * 2**(attempt-1))."""
    ceiling = min(settings.EMAIL_RETRY_BACKOFF_MAX_SECONDS,
                  settings.EMAIL_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # at least half: retries never stampede
