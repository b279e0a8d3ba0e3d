"""Request and response shapes of the accounts API (validation of input only)."""

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from rest_framework import serializers

from accounts import identity
from accounts.models import User
from accounts.selectors import identity_conflicts

UNKNOWN_FIELD = "Unknown field."
MAX_TOPICS, MAX_TOPIC_LENGTH = 20, 64


def unicode_text(value: str) -> None:
    """Refuse a lone surrogate (JSON allows "\\ud800"): it cannot be stored, hashed or sent."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise serializers.ValidationError("Not valid Unicode text.") from exc


TEXT = {"validators": [unicode_text]}
NAME = {"max_length": 150, "required": False, "allow_blank": True, "default": "", **TEXT}
SECRET = {"max_length": 256, "write_only": True, "trim_whitespace": False,
          "style": {"input_type": "password"}, "validators": [unicode_text]}


class KnownFieldsOnly:
    """Refuse keys the serializer does not declare (a 400, not a silently parsed megabyte).

    Read-only fields may be sent back as the GET gave them, within `max_length` of text.
    """

    echo_max_length = 254

    def validate(self, attrs):
        if not isinstance(self.initial_data, dict):
            return super().validate(attrs)
        errors = {}
        for key, value in self.initial_data.items():
            field = self.fields.get(key)
            if field is None:
                errors[str(key)[:64]] = [UNKNOWN_FIELD]
            elif field.read_only and len(str(value)) > self.echo_max_length:
                errors[key] = [f"Ensure this field has no more than "
                               f"{self.echo_max_length} characters."]
        if errors:
            raise serializers.ValidationError(errors)
        return super().validate(attrs)


class RegisterSerializer(KnownFieldsOnly, serializers.Serializer):
    username = serializers.CharField(max_length=150,
                                     validators=[unicode_text, UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254, **TEXT)
    password = serializers.CharField(**SECRET)
    first_name = serializers.CharField(**NAME)
    last_name = serializers.CharField(**NAME)

    def validate_username(self, value):
        username = identity.normalize_username(value)
        self._refuse_conflict("username", username=username, email="")
        return value

    def validate_email(self, value):
        # A taken address is not reported: registration answers alike either way.
        try:
            identity.normalize_email(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
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
    username = serializers.CharField()
    email_sent = serializers.CharField(
        help_text="What happens to the email to the address given, in words (see "
        "email_queued)."
    )
    email_queued = serializers.BooleanField(
        help_text="True when the email was queued now; false when the queue was unreachable "
        "and it was recorded to be queued as soon as it is back."
    )


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, **TEXT)
    password = serializers.CharField(**SECRET)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()


class ProfileSerializer(KnownFieldsOnly, serializers.ModelSerializer):
    email = serializers.EmailField(max_length=254, **TEXT)
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False, **TEXT)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False, **TEXT)
    preferences = serializers.DictField(
        child=serializers.BooleanField(), required=False, write_only=True,
        help_text="Email topics and whether you receive them, e.g. {\"announcements\": false} "
        f"(at most {MAX_TOPICS} topics)."
    )
    current_password = serializers.CharField(
        required=False, **SECRET,
        help_text="Needed to change `email`. The address changes only when the link emailed "
        "to the new address is opened; staff accounts change theirs in the admin."
    )

    class Meta:
        model = User
        fields = ("id", "username", "email", "first_name", "last_name", "date_joined",
                  "preferences", "current_password")
        read_only_fields = ("id", "username", "date_joined")

    def validate_preferences(self, value):
        if len(value) > MAX_TOPICS:
            raise serializers.ValidationError(f"At most {MAX_TOPICS} topics at once.")
        for topic in value:
            unicode_text(topic)
            if len(topic) > MAX_TOPIC_LENGTH:
                raise serializers.ValidationError(
                    f"Topic names have at most {MAX_TOPIC_LENGTH} characters.")
        return value


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
    token = serializers.CharField(max_length=1024, help_text="The `token` of the emailed link.",
                                  **TEXT)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, **TEXT)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64, **TEXT)
    token = serializers.CharField(max_length=128, **TEXT)
    new_password = serializers.CharField(**SECRET)


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
