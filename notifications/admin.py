"""Email in the admin: every outgoing email (with its attempts, and Resend) and notifications."""

import copy

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.paginator import InfinitePaginator

from accounts.admin_mixins import RecordAdminMixin
from backoffice.admin_filters import LocalDateTimeRangeFilter
from backoffice.admin_site import dialog_action_done
from backoffice.numbers import count_column
from notifications import services, views
from notifications.forms import AUDIENCE_FIELDS, NotificationForm, SuppressionForm
from notifications.models import Notification, OutgoingEmail, Subscription, Suppression
from notifications.selectors import notification_preview, with_delivery_counts


class ProblemFilter(admin.SimpleListFilter):
    title = "problems"
    parameter_name = "problem"

    def lookups(self, request, model_admin):
        return [("any", "Failed or waiting to retry"), ("failed", "Failed"),
                ("retrying", "Waiting to retry")]

    def queryset(self, request, queryset):
        failed = queryset.filter(status=OutgoingEmail.Status.FAILED)
        retrying = queryset.filter(status=OutgoingEmail.Status.PENDING, attempts__gt=0)
        return {"any": failed | retrying, "failed": failed,
                "retrying": retrying}.get(self.value(), queryset)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(RecordAdminMixin, ModelAdmin):
    """Every email the product sends, one row per recipient; failures are resent here."""

    deletable = False
    list_display = ("to_email", "kind", "lane", "status_shown", "attempts", "last_smtp_code",
                    "last_error", "notification", "created_at", "sent_at")
    list_filter = (ProblemFilter, "status", "lane", "kind", "notification",
                   ("created_at", LocalDateTimeRangeFilter))
    list_filter_submit = True
    search_fields = ("=to_email", "=id")
    list_select_related = ("notification",)
    show_full_result_count = False
    paginator = InfinitePaginator
    list_disable_select_all = True  # the paginator never counts: no "Select all N"
    actions = ["resend"]
    actions_detail = ["resend_detail"]
    fields = ("to_email", "kind", "lane", "status_shown", "subject", "user", "notification",
              "attempts", "attempts_table", "last_smtp_code", "last_error", "message_id",
              "worker", "claim", "lease_until", "next_attempt_at", "queued_at", "created_at",
              "updated_at", "sent_at")
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_shown(self, obj):
        return obj.status_label

    @admin.display(description="attempts and replies")
    def attempts_table(self, obj):
        if not obj.attempt_log:
            return "No attempt yet."
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (number, entry.get("at", ""), entry.get("outcome", ""), entry.get("reply", ""))
            for number, entry in enumerate(obj.attempt_log, start=1)))
        return format_html('<table class="text-sm"><tr><th>#</th><th>when</th><th>outcome</th>'
                           "<th>SMTP reply</th></tr>{}</table>", rows)

    def has_resend_permission(self, request, obj=None):
        return request.user.has_perm("notifications.resend_outgoingemail")

    def _resend(self, request, ids):
        count = services.emails_resend(ids=list(ids))
        if count:
            messages.success(request, f"{count} email(s) will be sent again.")
        else:
            messages.warning(request, "Nothing to resend: only failed emails with a usable "
                                      "address can be resent (already resent, or sent).")

    @admin.action(description="Resend the selected failed emails", permissions=["resend"])
    def resend(self, request, queryset):
        self._resend(request, queryset.values_list("pk", flat=True))

    @action(description="Resend", url_path="resend", permissions=["resend"], icon="send",
            dialog={"title": "Resend this email?",
                    "description": "A failed email is sent again, with a fresh set of "
                                   "attempts. Any other email is left as it is.",
                    "form_submit_text": "Resend"})
    def resend_detail(self, request, form, object_id):
        email = get_object_or_404(self.get_queryset(request), pk=object_id)
        self._resend(request, [email.pk])
        return dialog_action_done(
            request, reverse("admin:notifications_outgoingemail_change", args=[email.pk]))


# --- Bulk notifications -------------------------------------------------------------------


@admin.register(Notification)
class NotificationAdmin(ModelAdmin):
    """Compose, preview and send. The buttons are POST forms handled by notifications.views."""

    form = NotificationForm
    # Fits a 1440 px wide window beside the sidebar. Topic (a filter here) and author are
    # shown on the notification itself.
    list_display = ("subject", "status", "audience", "recipients", "sent", "failed",
                    "scheduled_at", "created_at", "finished_at")
    list_filter = ("status", "topic", "audience", ("created_at", LocalDateTimeRangeFilter))
    list_filter_submit = True
    search_fields = ("subject",)
    autocomplete_fields = ("users",)
    filter_horizontal = ("groups",)
    readonly_fields = ("status", "note", "scheduled_at", "created_by", "created_at",
                       "started_at", "finished_at")
    fieldsets = (
        (None, {"fields": ("subject", "html_body", "text_body")}),
        ("Audience", {"fields": ("topic", "audience", "groups", "users", "addresses",
                                 "skip_invalid")}),
        ("State", {"fields": readonly_fields}),
    )
    # Each audience shows only its own fields; NotificationForm refuses the others.
    conditional_fields = {field: f"audience == '{audience}'"
                          for field, audience in AUDIENCE_FIELDS.items()}
    change_form_outer_before_template = "notifications/admin/notification_panel.html"
    show_full_result_count = False

    def get_queryset(self, request):
        return with_delivery_counts(super().get_queryset(request))

    sent = count_column("sent_count", "sent")
    failed = count_column("failed_count", "failed")
    recipients = count_column("total_count", "recipients")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Read-only: the fields of the saved audience only.
        hidden = {field for field, audience in AUDIENCE_FIELDS.items()
                  if audience != obj.audience}
        return [(name, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
                for name, options in fieldsets]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        routes = [
            ("send", views.SendConfirmView.as_view(model_admin=self)),
            ("schedule", views.schedule), ("cancel", views.cancel),
            ("retry-failed", views.retry_failed), ("send-test", views.send_test),
            ("progress", views.progress),
        ]
        return [
            path(f"<int:pk>/{name}/", wrap(view), name=f"notifications_notification_{name}")
            for name, view in routes
        ] + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only: there is no audience input for the show/hide conditions to read
            # (they would fail in the browser), and get_fieldsets already shows only the
            # saved audience's fields.
            shown = copy.copy(self)
            shown.conditional_fields = {}
            context["adminform"].model_admin = shown
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_change_permission(self, request, obj=None):
        # Only drafts are edited; what is scheduled, sending or sent stays as it was.
        if obj is not None and obj.status != Notification.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        notification = self.get_object(request, object_id)
        extra = extra_context or {}
        if notification is not None:
            extra.update(views.delivery_context(request, notification))
            extra.pop("original")  # the admin sets its own
            extra["preview"] = notification_preview(
                notification, request.GET.get("preview_as", ""), fallback_user=request.user)
        return super().change_view(request, object_id, form_url, extra)


@admin.register(Subscription)
class SubscriptionAdmin(ModelAdmin):
    """Users' choices per topic; staff may change them on a user's behalf."""

    list_display = ("user", "topic", "subscribed", "updated_at")
    list_filter = ("topic", "subscribed")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)
    show_full_result_count = False


@admin.register(Suppression)
class SuppressionAdmin(ModelAdmin):
    """Addresses bulk mail skips: unsubscribed, refused permanently, or added by staff."""

    form = SuppressionForm
    list_display = ("email", "reason", "detail", "created_at")
    list_filter = ("reason", ("created_at", LocalDateTimeRangeFilter))
    list_filter_submit = True
    search_fields = ("email",)
    fields = ("email", "reason", "detail", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False
    paginator = InfinitePaginator
    list_disable_select_all = True  # the paginator never counts: no "Select all N"
