"""The admin login, counted by the same login throttle as the API login."""

from django.contrib import admin, messages
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from accounts.login_throttle import login_attempt
from accounts.network import client_ip


@sensitive_post_parameters()
@csrf_protect
@never_cache
def admin_login(request, extra_context=None):
    """Admin login; a POST over the limit gets the login page again, 429 and Retry-After."""
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    username = request.POST.get("username", "")
    verdict = login_attempt(client=client_ip(request), username=username)
    if verdict.allowed:
        return admin.site.login(request, extra_context)
    messages.error(request, verdict.message)
    request.method = "GET"  # show the form again without checking the password
    response = admin.site.login(request, extra_context)
    response.status_code = 429
    response["Retry-After"] = str(verdict.retry_after)
    return response
