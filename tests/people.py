"""Staff users in a role, as the tests need them."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission


def member(username: str, group: str):
    """A staff user in `group` (a role made by `roles_sync`), fetched fresh so its
    permission cache is empty."""
    users = get_user_model()
    user = users.objects.create_user(username, f"{username}@example.com", "pw-Member-123",
                                     is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return users.objects.get(pk=user.pk)


def staff_with(username: str, *codenames: str):
    """A staff user holding exactly the permissions `codenames`."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com",
                                                "pw-Staff-123", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user
