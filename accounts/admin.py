"""Users and groups on Unfold's styling; API tokens without their keys.

No page shows a password hash or an API token key, to anyone: a key is a password, and a
hash can be attacked offline.
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.contrib.auth.templatetags.auth import render_password_as_hash
from rest_framework.authtoken.admin import TokenAdmin as BaseTokenAdmin
from rest_framework.authtoken.models import Token, TokenProxy
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from accounts.models import User

admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active",
                    "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined", "groups")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("-date_joined",)

    # A read-only change page (view permission only) would print the model field as it is
    # stored; it shows the same masked summary as the editors' widget instead.
    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        return [(name, {**options, "fields": tuple(
            "password_summary" if field == "password" else field
            for field in options["fields"])}) for name, options in fieldsets]

    @display(description="Password")
    def password_summary(self, obj):
        return render_password_as_hash(obj.password)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


admin.site.unregister(TokenProxy)


def _token_label(token) -> str:
    return f"API token of {token.user}"


# The admin names an object by str() in titles, breadcrumbs, messages, the delete pages
# (a user's tokens are listed when the user is deleted) and the admin log; DRF's Token
# would name it by its key.
Token.__str__ = _token_label


@admin.register(TokenProxy)
class TokenAdmin(BaseTokenAdmin, ModelAdmin):
    list_display = ("label", "user", "created")

    @display(description="Token")
    def label(self, obj):
        return _token_label(obj)
