"""Admin behaviour shared by every app (apps may import accounts; nothing imports backoffice)."""


class RecordAdminMixin:
    """Rows the system writes — logs, results, reports, deliveries, runs: staff read them in
    the admin and never type them in or edit them. With `deletable = False` they stay, too.

    Put it before Unfold's ModelAdmin (or inline) in the bases.
    """

    deletable = True

    def has_add_permission(self, request, *args):  # inlines pass obj as well
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)
