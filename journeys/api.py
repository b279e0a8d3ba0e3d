"""The journeys' HTTP client for the stack's JSON API (what an API user would send)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def api_post(base_url: str, path: str, body: dict) -> tuple[int, dict]:
    """POST JSON to the stack; return (status, decoded body) for success and error alike."""
    request = urllib.request.Request(
        f"{base_url}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
