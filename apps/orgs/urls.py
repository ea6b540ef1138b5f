from django.urls import path

from apps.orgs import people_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/switch/", views.org_switch, name="org_switch"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("orgs/<slug:org_slug>/audit/", views.org_audit, name="org_audit"),
    path("orgs/<slug:org_slug>/audit/export/", views.org_audit_export, name="org_audit_export"),
]

# Organization settings: members, invitations, teams, service accounts (apps/orgs/people_views.py).
ORG_SETTINGS = "orgs/<slug:org_slug>/settings/"
urlpatterns += [
    path("invitations/<str:token>/", people_views.invitation_accept, name="invitation_accept"),
    path(ORG_SETTINGS + "members/", people_views.org_members, name="org_members"),
    path(ORG_SETTINGS + "members/add/", people_views.org_member_add, name="org_member_add"),
    path(ORG_SETTINGS + "members/<int:membership_id>/role/", people_views.org_member_role, name="org_member_role"),
    path(
        ORG_SETTINGS + "members/<int:membership_id>/remove/", people_views.org_member_remove, name="org_member_remove"
    ),
    path(
        ORG_SETTINGS + "invitations/<int:invitation_id>/revoke/",
        people_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(ORG_SETTINGS + "people/suggest/", people_views.people_suggest, name="people_suggest"),
    path(ORG_SETTINGS + "teams/", people_views.team_list, name="team_list"),
    path(ORG_SETTINGS + "teams/new/", people_views.team_create, name="team_create"),
    path(ORG_SETTINGS + "teams/<slug:team_name>/", people_views.team_detail, name="team_detail"),
    path(ORG_SETTINGS + "teams/<slug:team_name>/members/add/", people_views.team_member_add, name="team_member_add"),
    path(
        ORG_SETTINGS + "teams/<slug:team_name>/members/<int:user_id>/role/",
        people_views.team_member_role,
        name="team_member_role",
    ),
    path(
        ORG_SETTINGS + "teams/<slug:team_name>/members/<int:user_id>/remove/",
        people_views.team_member_remove,
        name="team_member_remove",
    ),
    path(ORG_SETTINGS + "service-accounts/", people_views.service_account_list, name="service_account_list"),
    path(ORG_SETTINGS + "service-accounts/new/", people_views.service_account_create, name="service_account_create"),
    path(
        ORG_SETTINGS + "service-accounts/<int:account_id>/",
        people_views.service_account_detail,
        name="service_account_detail",
    ),
    path(
        ORG_SETTINGS + "service-accounts/<int:account_id>/keys/new/",
        people_views.service_account_key_create,
        name="service_account_key_create",
    ),
    path(
        ORG_SETTINGS + "service-accounts/<int:account_id>/keys/<int:key_id>/revoke/",
        people_views.service_account_key_revoke,
        name="service_account_key_revoke",
    ),
    path(
        ORG_SETTINGS + "service-accounts/<int:account_id>/deactivate/",
        people_views.service_account_deactivate,
        name="service_account_deactivate",
    ),
]
