"""Transactional emails in the admin: read-only, with every attempt and its outcome."""

from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import RangeDateTimeFilter

from notifications.models import EmailAttempt, TransactionalEmail


class EmailAttemptInline(TabularInline):
    model = EmailAttempt
    fields = ("number", "started_at", "finished_at", "outcome", "smtp_code", "error", "worker")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TransactionalEmail)
class TransactionalEmailAdmin(ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
