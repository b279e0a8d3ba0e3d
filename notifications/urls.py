"""Public notification routes (no login): the unsubscribe link of bulk mail."""

from django.urls import path

from notifications.unsubscribe_views import unsubscribe_page

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe_page, name="notifications-unsubscribe"),
]
