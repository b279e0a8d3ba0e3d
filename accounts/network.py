"""The client's IP address, believing X-Forwarded-For only from configured trusted proxies."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


@lru_cache(maxsize=4096)  # the same few addresses come again and again
def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _text(value: str) -> str | None:
    """REMOTE_ADDR as a normalised address string, or None when it is not an address."""
    ip = _parse(value)
    return str(ip) if ip is not None else None


def is_trusted_proxy(remote_addr: str) -> bool:
    """True when `remote_addr` lies in one of settings.TRUSTED_PROXIES."""
    ip = _parse(remote_addr or "")
    if ip is None:
        return False
    return any(ip.version == net.version and ip in net
               for net in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or, when it is a trusted proxy, the nearest untrusted X-Forwarded-For hop.

    The header is read right to left (each proxy appends the address it saw), so a client
    cannot spoof its address by sending its own X-Forwarded-For.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not forwarded:  # the common case, on every logged request: no parsing, no settings
        return _text(remote_addr)
    remote = _parse(remote_addr)
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))
    if remote is None or not trusted:
        return _text(remote_addr)

    def is_trusted(ip) -> bool:
        return any(ip.version == net.version and ip in net for net in trusted)

    if not is_trusted(remote):
        return str(remote)
    nearest = remote
    for hop in reversed(forwarded.split(",")):
        ip = _parse(hop)
        if ip is None:  # a malformed hop: stop believing the chain here
            break
        nearest = ip
        if not is_trusted(ip):
            break
    return str(nearest)
