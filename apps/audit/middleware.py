"""Tags audit events written during a request with the client's address."""

from apps.audit.services import AuditContext, reset_context, set_context


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        detail = "admin" if request.path.startswith("/admin/") else "web"
        token = set_context(AuditContext(ip=request.META.get("REMOTE_ADDR") or None, detail=detail))
        try:
            return self.get_response(request)
        finally:
            reset_context(token)
