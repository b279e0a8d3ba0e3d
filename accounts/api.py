"""HTTP glue for the accounts API: parse with serializers, call services, shape responses."""

from importlib import import_module

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers as s
from accounts import services
from accounts.login_throttle import LoginThrottled, login_attempt, login_succeeded
from accounts.network import client_ip
from accounts.throttles import ScopedCacheThrottle

BAD_CREDENTIALS = "Unable to log in with these credentials."
REGISTERED = ("Registration received. Log in with POST /api/login/ to get your token; an "
              "email to the address given says what to do next.")
EMAIL_QUEUED = "An email to the address given will be sent shortly"
EMAIL_RECORDED = "An email to the address given will be sent as soon as the task queue is back"
RESET_MESSAGE = "If an account with that email address exists, a reset link has been sent to it."

BAD_REQUEST = OpenApiResponse(s.FieldErrorsSerializer, description="Field errors")
UNAUTHORIZED = OpenApiResponse(s.ErrorSerializer, description="No or invalid token")
UNSUPPORTED = OpenApiResponse(s.ErrorSerializer, description="Body media type unsupported or "
                              "unreadable")
THROTTLED = OpenApiResponse(s.ErrorSerializer, description="Too many requests (see Retry-After)")
STAFF = OpenApiResponse(s.ErrorSerializer, description="No token, or a staff account changing "
                        "its email address (staff change it in the admin)")
EMAIL_PENDING = ("A confirmation link has been sent to {email}. Your email address changes when "
                 "you open it; until then it stays {old}.")


def _field_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


def _call(service, serializer_class, http_request, /, **extra):
    """Validate the body with `serializer_class`, call `service`; its errors become 400s."""
    data = serializer_class(data=http_request.data)
    data.is_valid(raise_exception=True)
    try:
        return service(**extra, **data.validated_data)
    except DjangoValidationError as exc:
        raise _field_errors(exc) from exc


class ThrottledView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedCacheThrottle]


class RegisterView(ThrottledView):
    throttle_scope = "register"

    @extend_schema(
        request=s.RegisterSerializer,
        responses={201: s.RegisterResponseSerializer, 400: BAD_REQUEST, 415: UNSUPPORTED,
                   429: THROTTLED},
        auth=[],
        description="Answers 201 alike whether the email address was free (an account is "
        "created and a welcome email sent) or already had an account (nothing is created; "
        "its owner is emailed). A taken username or a weak password is a 400.",
    )
    def post(self, request):
        result = _call(services.user_register, s.RegisterSerializer, request)
        body = {
            "message": REGISTERED,
            "username": result.username,
            "email_sent": EMAIL_QUEUED if result.email_queued else EMAIL_RECORDED,
            "email_queued": result.email_queued,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    # Throttled by login_attempt / login_succeeded, shared with the admin login.
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        request=s.LoginSerializer,
        responses={200: s.TokenResponseSerializer, 400: BAD_REQUEST, 415: UNSUPPORTED,
                   429: THROTTLED},
        auth=[],
    )
    def post(self, request):
        username = getattr(request.data, "get", lambda _key: "")("username")
        username = username if isinstance(username, str) else ""
        client = client_ip(request)
        verdict = login_attempt(client=client, username=username)
        if not verdict.allowed:
            raise Throttled(wait=verdict.retry_after, detail=verdict.message)
        token = _call(services.token_login, s.LoginSerializer, request, request=request)
        if token is None:
            raise ValidationError({"non_field_errors": [BAD_CREDENTIALS]})
        login_succeeded(client=client, username=username)
        return Response({"token": token.key, "user_id": token.user_id,
                         "username": token.user.get_username()})


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: s.MessageSerializer, 401: UNAUTHORIZED,
                                            403: UNAUTHORIZED})
    def post(self, request):
        services.token_logout(user=request.user)
        return Response({"message": "Logged out."})


class ProfileView(APIView):
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(responses={200: s.ProfileSerializer, 401: UNAUTHORIZED, 403: UNAUTHORIZED})
    def get(self, request):
        return Response(_profile(request.user))

    @extend_schema(
        request=s.ProfileSerializer,
        responses={200: s.ProfileResponseSerializer, 400: BAD_REQUEST, 415: UNSUPPORTED,
                   401: UNAUTHORIZED, 403: STAFF, 429: THROTTLED},
        description="Changes first_name, last_name and preferences at once. A new `email` "
        "needs `current_password` and is not set here: a one-time link is emailed to the new "
        "address (the old one gets a notice), and the answer says `\"email_change\": "
        "\"pending\"`. Staff accounts cannot change their email through the API.",
    )
    def patch(self, request):
        data = s.ProfileSerializer(request.user, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        preferences = values.pop("preferences", None)
        password = values.pop("current_password", "")
        try:
            with transaction.atomic():
                pending = None
                if "email" in values:
                    pending = services.email_change_request(
                        user=request.user, email=values.pop("email"),
                        current_password=password, client=client_ip(request))
                user = services.user_profile_update(user=request.user, data=values)
                if preferences is not None:
                    _preferences().preferences_update(user=user, preferences=preferences)
        except DjangoValidationError as exc:
            raise _field_errors(exc) from exc
        except LoginThrottled as exc:
            raise Throttled(wait=exc.verdict.retry_after, detail=exc.verdict.message) from exc
        body = _profile(user)
        if pending:
            body.update(email_change="pending",
                        message=EMAIL_PENDING.format(email=pending, old=user.email))
        return Response(body)


class EmailChangeConfirmView(ThrottledView):
    throttle_scope = "password_reset_confirm"

    @extend_schema(
        request=s.EmailChangeConfirmSerializer,
        responses={200: s.ProfileSerializer, 400: BAD_REQUEST, 403: STAFF, 415: UNSUPPORTED,
                   429: THROTTLED},
        description="Confirms an email change with the token of the link sent to the new "
        "address. Revokes the user's API tokens (all but the one this request sent, if any); "
        "the old address is told, with a link that undoes the change.",
    )
    def post(self, request):
        keep = getattr(request.auth, "key", None)
        user = _call(services.email_change_confirm, s.EmailChangeConfirmSerializer, request,
                     keep_token=keep)
        return Response(_profile(user))


def _preferences():
    """The app that keeps users' email preferences (settings.PROFILE_PREFERENCES_MODULE):
    named in the settings, so accounts does not import it."""
    return import_module(settings.PROFILE_PREFERENCES_MODULE)


def _profile(user) -> dict:
    return {**s.ProfileSerializer(user).data,
            "preferences": _preferences().preferences_read(user=user)}


class PasswordResetView(ThrottledView):
    throttle_scope = "password_reset"

    @extend_schema(
        request=s.PasswordResetSerializer,
        responses={200: s.MessageSerializer, 400: BAD_REQUEST, 415: UNSUPPORTED, 429: THROTTLED},
        auth=[],
    )
    def post(self, request):
        _call(services.password_reset_request, s.PasswordResetSerializer, request)
        return Response({"message": RESET_MESSAGE})


class PasswordResetConfirmView(ThrottledView):
    throttle_scope = "password_reset_confirm"

    @extend_schema(
        request=s.PasswordResetConfirmSerializer,
        responses={200: s.MessageSerializer, 400: BAD_REQUEST, 415: UNSUPPORTED, 429: THROTTLED},
        auth=[],
    )
    def post(self, request):
        _call(services.password_reset_confirm, s.PasswordResetConfirmSerializer, request)
        return Response({"message": "Your password has been changed. Log in with it."})


class PublicView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: s.MessageSerializer}, auth=[])
    def get(self, request):
        return Response({"message": "This is a public endpoint. Anyone can see it."})


class ProtectedView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.ProtectedSerializer, 401: UNAUTHORIZED, 403: UNAUTHORIZED})
    def get(self, request):
        user = request.user
        return Response({"message": f"Hello, {user.get_username()}! This endpoint needs a token.",
                         "user_id": user.pk, "username": user.get_username()})
