"""Accounts and the API: REST framework, throttles, JSON depth, OpenAPI, password reset."""

from __future__ import annotations

import re

from backoffice.settings.config import env, fail
from backoffice.settings.core import SITE_URL

# JSON bodies nested deeper than this answer 400 (the parser recurses once per level).
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)
if not 1 <= API_JSON_MAX_DEPTH <= 500:
    fail("API_JSON_MAX_DEPTH", "must be between 1 and 500")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "backoffice.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "register": env.str("THROTTLE_REGISTER", default="20/hour"),
        # Admin and API login share these (accounts/login_throttle.py): attempts per client
        # address, failures per client and username, failures per username before delays.
        "login": env.str("THROTTLE_LOGIN", default="10/minute"),
        "login_username": env.str("THROTTLE_LOGIN_USERNAME", default="5/minute"),
        "login_failures": env.str("THROTTLE_LOGIN_FAILURES", default="10/hour"),
        "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="5/hour"),
        "password_reset_confirm": env.str("THROTTLE_PASSWORD_RESET_CONFIRM", default="10/hour"),
    },
}
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    if not re.fullmatch(r"\d+/(s|m|h|d)[a-z]*", _rate):
        fail(f"THROTTLE_{_scope.upper()}", f"must look like 10/minute, got {_rate!r}")
# Beyond `login_failures` for one username, a client that failed for it waits this many
# seconds, doubling with each further failure, up to the maximum.
THROTTLE_LOGIN_DELAY = env.int("THROTTLE_LOGIN_DELAY", default=2)
THROTTLE_LOGIN_DELAY_MAX = env.int("THROTTLE_LOGIN_DELAY_MAX", default=900)
if not 1 <= THROTTLE_LOGIN_DELAY <= THROTTLE_LOGIN_DELAY_MAX <= 86400:
    fail("THROTTLE_LOGIN_DELAY", "and THROTTLE_LOGIN_DELAY_MAX must satisfy "
         "1 <= THROTTLE_LOGIN_DELAY <= THROTTLE_LOGIN_DELAY_MAX <= 86400")
SPECTACULAR_SETTINGS = {
    "TITLE": "Backoffice API",
    "DESCRIPTION": "Accounts (registration, token login, profile, password reset) and demo "
    "endpoints. Send `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Where the password-reset email points ({uid} and {token} are filled in): by default the
# site's own reset page.
PASSWORD_RESET_LINK = env.str(
    "PASSWORD_RESET_LINK", default=SITE_URL + "/account/reset/?uid={uid}&token={token}")
if "{uid}" not in PASSWORD_RESET_LINK or "{token}" not in PASSWORD_RESET_LINK:
    fail("PASSWORD_RESET_LINK", "must contain {uid} and {token}")
# Email change: the confirmation link (sent to the new address) and the undo link (sent to
# the old one once changed); {token} is filled in; their lifetimes in seconds.
EMAIL_CHANGE_LINK = env.str(
    "EMAIL_CHANGE_LINK", default=SITE_URL + "/account/email/confirm/?token={token}")
EMAIL_CHANGE_UNDO_LINK = env.str(
    "EMAIL_CHANGE_UNDO_LINK", default=SITE_URL + "/account/email/undo/?token={token}")
for _name, _link in (("EMAIL_CHANGE_LINK", EMAIL_CHANGE_LINK),
                     ("EMAIL_CHANGE_UNDO_LINK", EMAIL_CHANGE_UNDO_LINK)):
    if "{token}" not in _link:
        fail(_name, "must contain {token}")
EMAIL_CHANGE_TIMEOUT = env.int("EMAIL_CHANGE_TIMEOUT", default=24 * 3600)
EMAIL_CHANGE_UNDO_TIMEOUT = env.int("EMAIL_CHANGE_UNDO_TIMEOUT", default=7 * 24 * 3600)
for _name, _seconds in (("EMAIL_CHANGE_TIMEOUT", EMAIL_CHANGE_TIMEOUT),
                        ("EMAIL_CHANGE_UNDO_TIMEOUT", EMAIL_CHANGE_UNDO_TIMEOUT)):
    if not 60 <= _seconds <= 90 * 86400:
        fail(_name, "must be between 60 and 7776000 seconds")
# Module with preferences_read(user=) / preferences_update(user=, preferences=) behind the
# `preferences` of /api/profile/ (named here so accounts does not import notifications).
PROFILE_PREFERENCES_MODULE = "notifications.recipients"
