"""The public status page: /status/, /status/<code>.ics, /status/feed.atom, and
subscriptions by email: /status/subscribe/ (and its confirmation link),
/status/unsubscribe/<token>/."""

from django.urls import path

from portal.views import status as views
from portal.views import status_subscriptions

urlpatterns = [
    path("status/", views.status_page, name="status"),
    path("status/feed.atom", views.MaintenanceFeed(), name="status_feed"),
    path("status/subscribe/", status_subscriptions.subscribe, name="status_subscribe"),
    path(
        "status/subscribe/confirm/<str:token>/",
        status_subscriptions.subscribe_confirm,
        name="status_subscribe_confirm",
    ),
    path("status/unsubscribe/<str:token>/", status_subscriptions.unsubscribe, name="status_unsubscribe"),
    path("status/<slug:code>.ics", views.status_calendar, name="status_calendar"),
]
