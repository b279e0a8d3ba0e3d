"""DKIM signatures (dkimpy) on outgoing mail, when DKIM_PRIVATE_KEY, DKIM_SELECTOR and
DKIM_DOMAIN are set. The Mailer signs every message it sends over Django's SMTP backend,
bulk and transactional; another backend is given the message and does its own signing."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import dkim
from django.conf import settings

# Headers a receiver shows or acts on; signing them makes them tamper-evident.
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
                  b"content-type", b"list-unsubscribe", b"list-unsubscribe-post",
                  b"feedback-id", b"reply-to")


@lru_cache(maxsize=4)
def _key(value: str) -> bytes:
    """The PEM key itself, or read from a file when the setting is a path."""
    if "-----BEGIN" in value:
        return value.replace("\\n", "\n").encode()
    return Path(value).expanduser().read_bytes()


def dkim_enabled() -> bool:
    return bool(settings.DKIM_PRIVATE_KEY and settings.DKIM_SELECTOR and settings.DKIM_DOMAIN)


def dkim_sign(payload: bytes) -> bytes:
    """`payload` (a whole message, CRLF line ends) with a DKIM-Signature header in front;
    unchanged when DKIM is not configured."""
    if not dkim_enabled():
        return payload
    present = {line.split(b":", 1)[0].strip().lower()
               for line in payload.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
               if line and line[:1] not in (b" ", b"\t")}
    signature = dkim.sign(
        payload, settings.DKIM_SELECTOR.encode(), settings.DKIM_DOMAIN.encode(),
        _key(settings.DKIM_PRIVATE_KEY), canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name for name in SIGNED_HEADERS if name in present],
    )
    return signature + payload
