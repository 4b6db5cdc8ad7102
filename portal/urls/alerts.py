"""The duty engineer's signed links: /ops/incidents/<token>/acknowledge/."""

from django.urls import path

from portal.views import alerts as views

urlpatterns = [
    path("ops/incidents/<str:token>/acknowledge/", views.incident_acknowledge_page, name="incident_acknowledge"),
]
