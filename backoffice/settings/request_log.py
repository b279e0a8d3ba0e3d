"""The API request log (reports.ApiRequest), written by ApiRequestLogMiddleware."""

from __future__ import annotations

from backoffice.settings.config import env, fail

API_REQUEST_LOG_ENABLED = env.bool("API_REQUEST_LOG_ENABLED", default=True)
API_REQUEST_LOG_PREFIX = "/api/"
# Rows are written in batches by a background thread this often.
API_REQUEST_LOG_FLUSH_SECONDS = env.float("API_REQUEST_LOG_FLUSH_SECONDS", default=1.0)
if API_REQUEST_LOG_FLUSH_SECONDS <= 0:
    fail("API_REQUEST_LOG_FLUSH_SECONDS", "must be more than 0 (seconds between writes)")
# Rows kept per process while the database refuses writes; beyond it the oldest are dropped
# (and the drop is logged as an error).
API_REQUEST_LOG_MAX_BUFFER = env.int("API_REQUEST_LOG_MAX_BUFFER", default=50_000)
