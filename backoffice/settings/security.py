"""Security: secret key, hosts, trusted proxies and the Content-Security-Policy."""

from __future__ import annotations

import ipaddress

from django.utils.csp import CSP

from backoffice.settings.config import env, fail

SECRET_KEY = env.str(
    "SECRET_KEY", default="dev-insecure-secret-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Proxies (IPs or CIDRs) whose X-Forwarded-For is believed; nobody's by default.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        fail("TRUSTED_PROXIES", f"has an entry that is not an IP address or network: {_proxy!r}")

# The Content-Security-Policy that production sends (prod.py sets SECURE_CSP to it; set
# CSP_ENABLED=true to send it here too). Unfold's Alpine.js compiles its directives with
# Function(), hence 'unsafe-eval'; its templates carry style="" attributes, hence
# 'unsafe-inline' for styles only. Inline <script> needs the nonce: {{ csp_nonce }}.
CONTENT_SECURITY_POLICY = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE, CSP.UNSAFE_EVAL],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CSP = CONTENT_SECURITY_POLICY if env.bool("CSP_ENABLED", default=False) else {}
