"""API: who the caller is and which organizations they belong to."""

from django.http import HttpRequest
from ninja import Router, Schema

from apps.orgs.models import Membership

router = Router(tags=["viewer"])


class OrgOut(Schema):
    slug: str
    name: str
    role: str


class ViewerOut(Schema):
    username: str
    orgs: list[OrgOut]


@router.get("/viewer", response=ViewerOut)
def viewer(request: HttpRequest):
    memberships = Membership.objects.filter(user=request.user).select_related("org").order_by("org__slug")
    return {
        "username": request.user.get_username(),
        "orgs": [{"slug": m.org.slug, "name": m.org.name, "role": m.role} for m in memberships],
    }
