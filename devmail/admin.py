"""Caught mail in the admin (development only): read what the product would have sent.

Superusers only: caught mail holds working password-reset links. Nothing can be added or
changed; messages can be deleted.
"""

from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from unfold.admin import ModelAdmin
from unfold.decorators import display

from devmail.models import CaughtEmail
from devmail.selectors import readable


@admin.register(CaughtEmail)
class CaughtEmailAdmin(ModelAdmin):
    list_display = ("received_at", "subject", "mail_from", "to")
    search_fields = ("subject", "mail_from")
    fields = ("received_at", "subject", "mail_from", "to", "text_body", "html_body", "headers")
    readonly_fields = fields
    show_full_result_count = False

    def _allowed(self, request) -> bool:
        return bool(settings.MAIL_CATCHER and request.user.is_active
                    and request.user.is_superuser)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @display(description="To")
    def to(self, obj):
        return ", ".join(obj.recipients)

    @display(description="Text body")
    def text_body(self, obj):
        text = readable(obj.raw).text
        return format_html('<pre class="whitespace-pre-wrap break-words" id="caught-text">{}'
                           "</pre>", text) if text else "—"

    @display(description="HTML body")
    def html_body(self, obj):
        html = readable(obj.raw).html  # sanitised by nh3: no script, handler or style
        return format_html('<div class="bo-caught-html break-words" id="caught-html">{}</div>',
                           mark_safe(html)) if html else "—"  # noqa: S308

    @display(description="Headers")
    def headers(self, obj):
        rows = format_html_join("", "<tr><th class='pr-4 text-left align-top'>{}</th>"
                                    "<td class='break-all'>{}</td></tr>",
                                readable(obj.raw).headers)
        return format_html("<table id='caught-headers'><tbody>{}</tbody></table>", rows)
