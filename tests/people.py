"""Staff users in a role, as the tests need them."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group


def member(username: str, group: str):
    """A staff user in `group` (a role made by `roles_sync`), fetched fresh so its
    permission cache is empty."""
    users = get_user_model()
    user = users.objects.create_user(username, f"{username}@example.com", "pw-Member-123",
                                     is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return users.objects.get(pk=user.pk)
