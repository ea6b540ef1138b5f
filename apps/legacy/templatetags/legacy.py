"""`{% legacy_banner %}`: the switch between the new Registry and the legacy Model Registry, for Registry pages.

A template tag rather than an import, so the Registry's pages (lower layers) show it without
depending on this app. Context: `request`, `org`.
"""

from django import template

from apps.legacy.banner import banner_context, legacy_nav

register = template.Library()


@register.inclusion_tag("legacy/_banner.html", takes_context=True)
def legacy_banner(context) -> dict:
    request = context["request"]
    return {
        **banner_context(request.user, org=context.get("org")),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("legacy/_nav.html", takes_context=True)
def legacy_sidebar(context) -> dict:
    """With ENABLE_REGISTRY_UI off the legacy registry is the only one: the sidebar links each team's."""
    return {"legacy_teams": legacy_nav(context["request"].user)}
