"""The unsubscribe link of bulk mail: no login, the signed token is the authority.

GET shows a themed confirmation page (and, for a user, their topics); POST unsubscribes at
once. Mailbox providers' one-click unsubscribe (RFC 8058) POSTs `List-Unsubscribe=One-Click`
to the URL without cookies or a CSRF token, so the view is CSRF-exempt; the signature stops
anyone from unsubscribing someone else. Saving the page's topic choices can also subscribe,
so that form alone needs the CSRF token the page gave it. A link works for
UNSUBSCRIBE_LINK_MAX_AGE_DAYS; after that the page says it expired and changes nothing.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import signing
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications.models import Topic
from notifications.recipients import (
    preferences_read,
    preferences_update,
    unsubscribe,
    unsubscribe_target,
)

TEMPLATE = "notifications/public/unsubscribe.html"


def _csrf_passes(request) -> bool:
    """Django's own CSRF check, for the one form of this exempt view that needs it."""
    return CsrfViewMiddleware(lambda request: None).process_view(request, None, (), {}) is None


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_page(request, token):
    context = admin.site.public_context(request, title="Unsubscribe", token=token)
    try:
        target = unsubscribe_target(token)
    except signing.SignatureExpired:
        context["expired"] = True
        return render(request, TEMPLATE, context, status=410)
    except signing.BadSignature:
        context["invalid"] = True
        return render(request, TEMPLATE, context, status=400)
    user = get_user_model().objects.filter(pk=target.user_id).first() \
        if target.user_id is not None else None
    context.update(target=target, topic_label=Topic(target.topic).label)
    status = 200
    if request.method == "POST":
        if user is not None and request.POST.get("action") == "preferences":
            if _csrf_passes(request):
                chosen = set(request.POST.getlist("topics"))
                preferences_update(user=user, preferences={
                    topic: topic in chosen for topic in Topic.values})
                context["saved"] = True
            else:
                context["forbidden"] = True
                status = 403
        else:
            unsubscribe(target=target)
            context["unsubscribed"] = True
    if user is not None:
        current = preferences_read(user=user)
        context["topics"] = [(value, label, current[value]) for value, label in Topic.choices]
        context["subscribed"] = current[target.topic]
    return render(request, TEMPLATE, context, status=status)
