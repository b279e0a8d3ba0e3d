"""Request and response shapes of the accounts API (validation of input only)."""

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from rest_framework import serializers

from accounts import identity
from accounts.models import User
from accounts.selectors import identity_conflicts

NAME = {"max_length": 150, "required": False, "allow_blank": True, "default": ""}


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=256, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = serializers.CharField(**NAME)
    last_name = serializers.CharField(**NAME)

    def validate_username(self, value):
        username = identity.normalize_username(value)
        self._refuse_conflict("username", username=username, email="")
        return value

    def validate_email(self, value):
        try:
            email = identity.normalize_email(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        self._refuse_conflict("email", username=None, email=email)
        return value

    @staticmethod
    def _refuse_conflict(field: str, **identity_fields) -> None:
        # Checked here too (the service checks again, in its transaction), so that a taken
        # name is reported beside the other fields' errors rather than after them.
        conflict = identity_conflicts(**identity_fields).get(field)
        if conflict:
            raise serializers.ValidationError(conflict)

    def validate_password(self, value):
        """The password validators' verdict beside the other fields' errors, so a form
        with several bad fields hears about all of them in one answer."""
        given = {field: self.initial_data.get(field) for field in
                 ("username", "email", "first_name", "last_name")}
        user = User(**{field: value for field, value in given.items() if isinstance(value, str)})
        try:
            validate_password(value, user=user)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


class RegisterResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()
    email_sent = serializers.CharField(
        help_text="What happens to the welcome email, in words (see email_queued)."
    )
    email_queued = serializers.BooleanField(
        help_text="True when the welcome email was queued now; false when the queue was "
        "unreachable and it was recorded to be queued as soon as it is back."
    )


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=256, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()


class ProfileSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    preferences = serializers.DictField(
        child=serializers.BooleanField(), required=False, write_only=True,
        help_text="Email topics and whether you receive them, e.g. {\"announcements\": false}."
    )
    current_password = serializers.CharField(
        max_length=256, required=False, write_only=True, trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Needed to change `email`. The address changes only when the link emailed "
        "to the new address is opened; staff accounts change theirs in the admin."
    )

    class Meta:
        model = User
        fields = ("id", "username", "email", "first_name", "last_name", "date_joined",
                  "preferences", "current_password")
        read_only_fields = ("id", "username", "date_joined")


class ProfileResponseSerializer(ProfileSerializer):
    email_change = serializers.ChoiceField(
        choices=["pending"], required=False,
        help_text="Present when an email change was asked for: the address is unchanged "
        "until the link sent to the new address is opened."
    )
    message = serializers.CharField(required=False)

    class Meta(ProfileSerializer.Meta):
        fields = (*ProfileSerializer.Meta.fields, "email_change", "message")


class EmailChangeConfirmSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=1024, help_text="The `token` of the emailed link.")


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(
        max_length=256, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class ProtectedSerializer(serializers.Serializer):
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    """Field name -> list of messages; `non_field_errors` for the whole request."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
