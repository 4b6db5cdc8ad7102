from django.urls import path

from portal import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
]
