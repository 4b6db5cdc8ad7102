from django.contrib import admin
from django.urls import include, path

from portal.metrics import metrics_view
from portal.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("", include("portal.urls.accounts")),
    path("", include("portal.urls.files")),
    path("", include("portal.urls.snapshots")),
    path("admin/", admin.site.urls),
    path("api/", include("portal.api.urls")),
    path("settings/api-tokens/", include("portal.urls.tokens")),
    path("", include("portal.urls.team")),
    path("", include("portal.urls.status")),
    path("", include("portal.urls.alerts")),
    path("metrics", metrics_view, name="metrics"),
]
