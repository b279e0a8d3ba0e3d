"""Pages outside the API: the throttled admin login, the password-reset and email-change pages."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import selectors, services
from accounts.login_throttle import login_attempt, login_succeeded
from accounts.network import client_ip


@sensitive_post_parameters()
@csrf_protect
@never_cache
def admin_login(request, extra_context=None):
    """Admin login; a POST over the limit gets the login page again, 429 and Retry-After."""
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    username, client = request.POST.get("username", ""), client_ip(request)
    verdict = login_attempt(client=client, username=username)
    if verdict.allowed:
        response = admin.site.login(request, extra_context)
        if response.status_code == 302 and request.user.is_authenticated:
            login_succeeded(client=client, username=username)
        return response
    messages.error(request, verdict.message)
    request.method = "GET"  # show the form again without checking the password
    response = admin.site.login(request, extra_context)
    response.status_code = 429
    response["Retry-After"] = str(verdict.retry_after)
    return response


RESET_TEMPLATE = "accounts/password_reset.html"


@sensitive_post_parameters()
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_page(request):
    """The page the reset email links to: a new password twice, then the link is spent."""
    uid, token = request.GET.get("uid", ""), request.GET.get("token", "")
    context = admin.site.public_context(request, title="Choose a new password")
    if request.method != "POST":
        if selectors.password_reset_link_is_valid(uid=uid, token=token):
            return render(request, RESET_TEMPLATE, context)
        context["link_spent"] = True
        return render(request, RESET_TEMPLATE, context, status=400)
    password = request.POST.get("new_password1", "")
    try:
        if password != request.POST.get("new_password2", ""):
            # Checked with the link, so a spent link is reported as such, not as a typo.
            if not selectors.password_reset_link_is_valid(uid=uid, token=token):
                raise ValidationError({"token": ["spent"]})
            raise ValidationError({"new_password2": ["The two passwords differ."]})
        services.password_reset_confirm(uid=uid, token=token, new_password=password)
    except ValidationError as exc:
        errors = exc.message_dict
        context["link_spent"] = "token" in errors
        context["errors"] = [m for field in ("new_password", "new_password2")
                             for m in errors.get(field, [])]
        return render(request, RESET_TEMPLATE, context, status=400)
    context["done"] = True
    return render(request, RESET_TEMPLATE, context)


EMAIL_TEMPLATE = "accounts/email_change.html"


@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def email_change_page(request, undo=False):
    """The page an email-change link opens: a button (POST) confirms, or undoes, the change."""
    token = request.GET.get("token", "")
    context = admin.site.public_context(
        request, undo=undo,
        title="Undo the email change" if undo else "Confirm your new email address")
    if request.method != "POST":
        if selectors.email_change_link_is_valid(token=token, undo=undo):
            return render(request, EMAIL_TEMPLATE, context)
        context["link_spent"] = True
        return render(request, EMAIL_TEMPLATE, context, status=400)
    change = services.email_change_undo if undo else services.email_change_confirm
    try:
        user = change(token=token)
    except ValidationError as exc:
        errors = exc.message_dict
        context["link_spent"] = "token" in errors
        context["errors"] = errors.get("email", [])
        return render(request, EMAIL_TEMPLATE, context, status=400)
    except PermissionDenied as exc:
        context["errors"] = [str(exc)]
        return render(request, EMAIL_TEMPLATE, context, status=403)
    context.update(done=True, email=user.email)
    return render(request, EMAIL_TEMPLATE, context)
