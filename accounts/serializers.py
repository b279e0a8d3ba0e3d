"""Request and response shapes of the accounts API (validation of input only)."""

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from accounts.models import User

NAME = {"max_length": 150, "required": False, "allow_blank": True, "default": ""}


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=256, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = serializers.CharField(**NAME)
    last_name = serializers.CharField(**NAME)


class RegisterResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()
    email_sent = serializers.BooleanField(
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

    class Meta:
        model = User
        fields = ("id", "username", "email", "first_name", "last_name", "date_joined",
                  "preferences")
        read_only_fields = ("id", "username", "date_joined")


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
