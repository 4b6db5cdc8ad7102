from django.urls import path

from portal.views import accounts as views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
]
