"""Users. A custom user model from day one, so later fields need no painful swap."""

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user; staff use the admin, everyone else the API."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
