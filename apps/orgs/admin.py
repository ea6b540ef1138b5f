from django.contrib import admin

from apps.orgs.models import Membership, Organization, Team, TeamMembership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # memberships change through services (audited); use the app


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["slug", "admins_group", "members_group", "viewers_group", "created_at"]
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False  # create_organization also creates groups and core registries


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    readonly_fields = ["user", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "created_at"]
    list_filter = ["org"]
    search_fields = ["name"]
    readonly_fields = ["org", "name", "group", "created_at"]
    inlines = [TeamMembershipInline]

    def has_add_permission(self, request):
        return False
