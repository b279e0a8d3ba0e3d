"""Admin endpoints of a notification: the state-changing buttons (POST) and progress (GET)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from backoffice.enqueue import QueueUnavailable, enqueue
from notifications import services
from notifications.forms import ScheduleForm
from notifications.models import Notification
from notifications.recipients import audience_breakdown
from notifications.selectors import notification_progress
from notifications.tasks import send_test_notification

SEND_PERMISSION = "notifications.send_notification"


def _change_url(pk):
    return reverse("admin:notifications_notification_change", args=[pk])


def _require_send(request):
    if not request.user.has_perm(SEND_PERMISSION):
        raise PermissionDenied


def _enqueue(request, task, *args) -> bool:
    try:
        enqueue(task, args=args)
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
        return False
    return True


def _start(request, pk, *, start, started: str):
    """Start (`start`: once, the rows written in the same transaction); the first batch is
    queued after commit, or by the sweep when the broker is back."""
    get_object_or_404(Notification, pk=pk)
    try:
        result = start(notification_id=pk)
    except services.NotificationStateError as exc:
        messages.error(request, str(exc))
    else:
        if getattr(result, "queued", True) is False:
            messages.warning(request, "Started, but the broker is unreachable; the sweep "
                                      "sends it when the broker is back.")
        else:
            messages.success(request, started)
    return redirect(_change_url(pk))


class SendConfirmView(UnfoldModelAdminViewMixin, TemplateView):
    """GET: what Send now would do, in numbers. POST (confirmed): start the send, once."""

    title = "Send notification"
    permission_required = (SEND_PERMISSION,)
    template_name = "notifications/admin/send_confirm.html"
    http_method_names = ["get", "post"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        notification = get_object_or_404(Notification, pk=self.kwargs["pk"])
        breakdown = audience_breakdown(notification)
        refusal = ""
        if notification.status not in (Notification.Status.DRAFT,
                                        Notification.Status.SCHEDULED):
            refusal = services.state_problem(notification)
        elif not breakdown["recipients"]:
            refusal = "No one would receive it: every address is excluded or the audience " \
                      "is empty."
        context.update(
            original=notification, breakdown=breakdown, confirm_error=refusal,
            page_id="send-confirm", confirm_attrs={"id": "confirm-submit"},
            audience_detail=_audience_detail(notification),
            cancel_url=_change_url(notification.pk),
            title=f"Send “{notification.subject}”",
            confirm_label=f"Send now to {breakdown['recipients']:,} "
                          f"recipient{'' if breakdown['recipients'] == 1 else 's'}",
        )
        return context

    def post(self, request, pk):
        if request.POST.get("confirm") != "yes":
            messages.warning(request, "Not sent; nothing changed.")
            return redirect(_change_url(pk))
        return _start(request, pk, start=services.notification_start,
                      started="Sending started: progress updates below.")


def _audience_detail(notification: Notification) -> str:
    """The audience in words, with the chosen groups or users."""
    label = notification.get_audience_display()
    if notification.audience == Notification.Audience.GROUPS:
        names = ", ".join(notification.groups.order_by("name").values_list("name", flat=True))
        return f"{label}: {names}"
    if notification.audience == Notification.Audience.USERS:
        return f"{label} ({notification.users.count()} chosen)"
    return label


@require_POST
def schedule(request, pk):
    _require_send(request)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for errors in form.errors.values() for e in errors)
        messages.error(request, f"Not scheduled: {errors}")
        return redirect(_change_url(pk))
    try:
        notification = services.notification_schedule(notification_id=pk,
                                                 when=form.cleaned_data["when"])
    except services.NotificationStateError as exc:
        messages.error(request, f"Not scheduled: {exc}.")
    else:
        messages.success(request, f"Scheduled for {notification.scheduled_at:%Y-%m-%d %H:%M %Z}.")
    return redirect(_change_url(pk))


@require_POST
def cancel(request, pk):
    _require_send(request)
    try:
        skipped = services.notification_cancel(notification_id=pk)
    except services.NotificationStateError as exc:
        messages.error(request, f"Not cancelled: {exc}.")
    else:
        messages.success(request, f"Cancelled; {skipped} pending recipient(s) skipped.")
    return redirect(_change_url(pk))


@require_POST
def retry_failed(request, pk):
    _require_send(request)
    return _start(request, pk, start=services.notification_retry_failed,
                  started="Retrying the failed recipients.")


@require_POST
def send_test(request, pk):
    _require_send(request)
    get_object_or_404(Notification, pk=pk)
    if not request.user.email:
        messages.error(request, "Your account has no email address to send a test to.")
    elif _enqueue(request, send_test_notification, pk, request.user.pk):
        messages.success(request, f"A test copy is on its way to {request.user.email}.")
    return redirect(_change_url(pk))


def delivery_context(request, notification: Notification) -> dict:
    """What the delivery card of a notification shows: progress, recipients, buttons."""
    progress = notification_progress(notification)
    total = progress["counts"]["total"]
    return {
        "original": notification,
        "can_send": request.user.has_perm(SEND_PERMISSION),
        # Once the deliveries exist they are the recipients: no re-reading of the audience
        # (a pasted list can be long) on every poll.
        "recipients": {"recipients": total} if total else audience_breakdown(notification),
        "progress": progress,
        "schedule_form": ScheduleForm(),
        "deliveries_url": reverse("admin:notifications_outgoingemail_changelist"),
    }


@require_GET
def progress(request, pk):
    """The delivery card as HTML (`?partial=1`, what the page polls) or the progress as JSON."""
    if not request.user.has_perm("notifications.view_notification"):
        raise PermissionDenied
    notification = get_object_or_404(Notification, pk=pk)
    if request.GET.get("partial"):
        return TemplateResponse(request, "notifications/admin/_delivery_card.html",
                                delivery_context(request, notification))
    return JsonResponse(notification_progress(notification))
