from django.urls import path

from apps.orgs import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/switch/", views.org_switch, name="org_switch"),
]
