from django.urls import path

from apps.automations import views

app_name = "automations"

# Included before the collections URLconf: "automations" is a reserved collection name.
AUTOMATIONS = "orgs/<slug:org_slug>/registry/<slug:reg_slug>/automations/"
AUTOMATION = AUTOMATIONS + "<int:pk>/"
SETTINGS = "orgs/<slug:org_slug>/settings/"
HUB = "orgs/<slug:org_slug>/automations/"

urlpatterns = [
    path(AUTOMATIONS, views.automation_list, name="automation_list"),
    path(AUTOMATIONS + "new/", views.automation_create, name="automation_create"),
    path(AUTOMATIONS + "history/", views.automation_history, name="automation_history"),
    path(AUTOMATIONS + "collections/", views.collection_options, name="collection_options"),
    path(AUTOMATIONS + "collections/<int:pk>/", views.collection_automations, name="collection_automations"),
    path(AUTOMATIONS + "collections/<int:pk>/notify/", views.collection_notify, name="collection_notify"),
    path(AUTOMATIONS + "runs/<int:run_pk>/replay/", views.run_replay, name="run_replay"),
    path(AUTOMATION, views.automation_detail, name="automation_detail"),
    path(AUTOMATION + "edit/", views.automation_edit, name="automation_edit"),
    path(AUTOMATION + "toggle/", views.automation_toggle, name="automation_toggle"),
    path(AUTOMATION + "delete/", views.automation_delete, name="automation_delete"),
    path(HUB, views.automation_hub, name="automation_hub"),
    path(HUB + "new/", views.org_automation_create, name="org_automation_create"),
    path(HUB + "runs/<int:run_pk>/replay/", views.org_run_replay, name="org_run_replay"),
    path(HUB + "<int:pk>/", views.org_automation_detail, name="org_automation_detail"),
    path(HUB + "<int:pk>/edit/", views.org_automation_edit, name="org_automation_edit"),
    path(HUB + "<int:pk>/toggle/", views.org_automation_toggle, name="org_automation_toggle"),
    path(HUB + "<int:pk>/delete/", views.org_automation_delete, name="org_automation_delete"),
    path(SETTINGS + "webhooks/", views.webhook_list, name="webhook_list"),
    path(SETTINGS + "slack/new/", views.slack_create, name="slack_create"),
    path(SETTINGS + "webhooks/new/", views.webhook_create, name="webhook_create"),
    path(SETTINGS + "webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path(SETTINGS + "webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path(SETTINGS + "secrets/", views.secret_list, name="secret_list"),
    path(SETTINGS + "secrets/new/", views.secret_create, name="secret_create"),
    path(SETTINGS + "secrets/<int:pk>/", views.secret_update, name="secret_update"),
    path(SETTINGS + "secrets/<int:pk>/delete/", views.secret_delete, name="secret_delete"),
]
