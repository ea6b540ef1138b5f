"""Organizations and teams in the Django admin: read-only, except deletion through the org services.

Creating organizations and teams, and every membership change, happen in the app (audited services);
there is no service that renames either, so nothing else is editable here.
"""

from django.contrib import admin

from apps.orgs.models import Invitation, Membership, Organization, ServiceAccount, Team, TeamMembership
from apps.orgs.services import delete_organization, delete_team
from lib.service_admin import ServiceAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # memberships change through services (audited); use the app


@admin.register(Organization)
class OrganizationAdmin(ServiceAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]

    def has_change_permission(self, request, obj=None):
        return False

    def delete_with_service(self, request, obj):
        delete_organization(actor=request.user, org=obj)


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(ServiceAdmin):
    list_display = ["name", "org", "created_at"]
    list_filter = ["org"]
    search_fields = ["name"]
    inlines = [TeamMembershipInline]

    def has_change_permission(self, request, obj=None):
        return False

    def delete_with_service(self, request, obj):
        delete_team(actor=request.user, team=obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed for instance staff; every change goes through the organization settings pages (audited)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServiceAccount)
class ServiceAccountAdmin(ReadOnlyAdmin):
    list_display = ["user", "org", "team", "created_at"]
    list_filter = ["org"]
    search_fields = ["user__username"]
    list_select_related = ["user", "org", "team"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "org", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["org"]
    search_fields = ["email"]
    list_select_related = ["org"]
    exclude = ["hashed_token"]
