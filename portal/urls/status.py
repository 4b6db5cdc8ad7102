"""The public status page: /status/, /status/<code>.ics, /status/feed.atom."""

from django.urls import path

from portal.views import status as views

urlpatterns = [
    path("status/", views.status_page, name="status"),
    path("status/feed.atom", views.MaintenanceFeed(), name="status_feed"),
    path("status/<slug:code>.ics", views.status_calendar, name="status_calendar"),
]
