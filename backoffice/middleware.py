"""Headers that only a trusted proxy may set."""

from accounts.network import is_trusted_proxy

# Request headers believed only from TRUSTED_PROXIES (Django reads X-Forwarded-Proto
# through SECURE_PROXY_SSL_HEADER; a client could otherwise claim HTTPS itself).
PROXY_ONLY_HEADERS = ("HTTP_X_FORWARDED_PROTO",)


class TrustedProxyHeadersMiddleware:
    """Drop proxy-only headers from requests that did not come from a trusted proxy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if any(name in meta for name in PROXY_ONLY_HEADERS) and not is_trusted_proxy(
                meta.get("REMOTE_ADDR", "")):
            for name in PROXY_ONLY_HEADERS:
                meta.pop(name, None)
        return self.get_response(request)
