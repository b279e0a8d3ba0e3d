"""The accounts API under /api/ (included by backoffice/urls.py)."""

from django.urls import path

from accounts import api

urlpatterns = [
    path("register/", api.RegisterView.as_view(), name="api-register"),
    path("login/", api.LoginView.as_view(), name="api-login"),
    path("logout/", api.LogoutView.as_view(), name="api-logout"),
    path("profile/", api.ProfileView.as_view(), name="api-profile"),
    path("profile/email/confirm/", api.EmailChangeConfirmView.as_view(),
         name="api-email-change-confirm"),
    path("password-reset/", api.PasswordResetView.as_view(), name="api-password-reset"),
    path("password-reset/confirm/", api.PasswordResetConfirmView.as_view(),
         name="api-password-reset-confirm"),
    path("public/", api.PublicView.as_view(), name="api-public"),
    path("protected/", api.ProtectedView.as_view(), name="api-protected"),
]
