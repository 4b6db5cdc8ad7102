"""The portal's URLs and one view that raises, for the web stats tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a defect")


urlpatterns = [path("broken/", broken), path("", include("portal.urls"))]
