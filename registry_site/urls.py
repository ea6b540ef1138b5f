"""URL wiring only."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.orgs import views as org_views

urlpatterns = [
    path("", org_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("apps.registries.urls")),
    path("", include("apps.collections.urls")),
    path("", include("apps.artifacts.urls")),
]
