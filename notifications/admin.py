"""Email in the admin: transactional emails (read-only, with attempts) and notifications."""

import copy

from django.contrib import admin
from django.urls import path
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.paginator import InfinitePaginator

from accounts.admin_mixins import RecordAdminMixin
from notifications import views
from notifications.forms import AUDIENCE_FIELDS, NotificationForm, SuppressionForm
from notifications.models import (
    Delivery,
    EmailAttempt,
    Notification,
    Subscription,
    Suppression,
    TransactionalEmail,
)
from notifications.selectors import notification_preview, with_delivery_counts


class EmailAttemptInline(RecordAdminMixin, TabularInline):
    model = EmailAttempt
    fields = ("number", "started_at", "finished_at", "outcome", "smtp_code", "error", "worker")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(TransactionalEmail)
class TransactionalEmailAdmin(RecordAdminMixin, ModelAdmin):
    deletable = False
    list_display = ("id", "kind", "to_email", "user", "status", "attempts", "last_smtp_code",
                    "last_error", "created_at", "sent_at")
    list_filter = ("status", "kind", ("created_at", RangeDateTimeFilter))
    list_filter_submit = True
    search_fields = ("to_email", "user__username", "=user__id")
    list_select_related = ("user",)
    show_full_result_count = False
    readonly_fields = ("kind", "user", "to_email", "subject", "status", "attempts",
                       "last_smtp_code", "last_error", "message_id", "task_id", "created_at",
                       "updated_at", "queued_at", "next_attempt_at", "sent_at")
    fields = readonly_fields
    inlines = [EmailAttemptInline]


# --- Bulk notifications -------------------------------------------------------------------


@admin.register(Notification)
class NotificationAdmin(ModelAdmin):
    """Compose, preview and send. The buttons are POST forms handled by notifications.views."""

    form = NotificationForm
    # Fits a 1440 px wide window beside the sidebar. Topic (a filter here) and author are
    # shown on the notification itself.
    list_display = ("subject", "status", "audience", "recipients", "sent", "failed",
                    "scheduled_at", "created_at", "finished_at")
    list_filter = ("status", "topic", "audience", ("created_at", RangeDateTimeFilter))
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

    @admin.display(description="sent")
    def sent(self, obj):
        return obj.sent_count

    @admin.display(description="failed")
    def failed(self, obj):
        return obj.failed_count

    @admin.display(description="recipients")
    def recipients(self, obj):
        return obj.total_count

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
            ("resume", views.resume), ("progress", views.progress),
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


@admin.register(Delivery)
class DeliveryAdmin(RecordAdminMixin, ModelAdmin):
    deletable = False
    list_display = ("email", "notification", "status", "attempts", "last_smtp_code",
                    "last_error", "sent_at")
    list_filter = ("status", "notification")
    list_select_related = ("notification",)
    search_fields = ("=email",)
    show_full_result_count = False
    paginator = InfinitePaginator
    list_disable_select_all = True  # the paginator never counts: no "Select all N"
    readonly_fields = ("notification", "user", "email", "status", "attempts", "last_smtp_code",
                       "last_error", "sent_at", "message_id", "next_attempt_at", "claim",
                       "lease_until", "worker", "updated_at")
    fields = readonly_fields




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
    list_filter = ("reason", ("created_at", RangeDateTimeFilter))
    list_filter_submit = True
    search_fields = ("email",)
    fields = ("email", "reason", "detail", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False
    paginator = InfinitePaginator
    list_disable_select_all = True  # the paginator never counts: no "Select all N"
