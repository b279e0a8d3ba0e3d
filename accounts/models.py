"""Users. A custom user model from day one, so later fields need no painful swap."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from accounts import identity

LOOKALIKE_USERNAME = "This username is too similar to an existing one."


class Manager(UserManager):
    @classmethod
    def normalize_email(cls, email):
        try:
            return identity.normalize_email(email)
        except ValidationError as exc:
            if identity.QUOTED_EMAIL in exc.messages:
                raise
            return super().normalize_email(email)  # malformed: the email validator says so

    def bulk_create(self, objs, *args, **kwargs):
        # bulk_create skips save(), where the look-alike key is kept.
        for user in objs:
            user.username_key = identity.username_key(user.username)
        return super().bulk_create(objs, *args, **kwargs)


class User(AbstractUser):
    """The project's user; staff use the admin, everyone else the API."""

    # The username's look-alike skeleton (accounts.identity); unique, kept by save().
    username_key = models.CharField(max_length=600, editable=False)

    objects = Manager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            # One account per address (case-insensitive); blank addresses stay allowed.
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="accounts_user_email_ci_unique"
            ),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique",
                                    violation_error_message="A user with that username "
                                    "already exists."),
            models.UniqueConstraint("username_key", name="accounts_user_username_key_unique",
                                    violation_error_message=LOOKALIKE_USERNAME),
        ]

    @classmethod
    def normalize_username(cls, username):
        return identity.normalize_username(username)

    def clean(self):
        try:
            super().clean()  # normalises username and email with the methods above
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise
            raise ValidationError({"email": exc.messages}) from exc
        self.username_key = identity.username_key(self.username)
        similar = User.objects.filter(username_key=self.username_key).exclude(pk=self.pk)
        if self.username and similar.exists():
            raise ValidationError({"username": LOOKALIKE_USERNAME})

    def save(self, *args, **kwargs):
        self.username = identity.normalize_username(self.username)
        self.username_key = identity.username_key(self.username)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_key"}
        super().save(*args, **kwargs)
