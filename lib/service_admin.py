"""Django admin plumbing for models that change only through services.

A `ServiceAdmin` never writes a model itself: deleting (one object or a selection) and saving call the
app's service, which checks the superuser's permission, validates and records the audit event. What a
service refuses (`ValidationError`, `PermissionDenied`) is shown as an admin error message, and nothing
changes: a bulk delete runs in one transaction and is refused as a whole.
"""

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


class Refused(Exception):
    """A service refused an admin write; the message is for the admin user."""


def refusal_message(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You do not have permission to do this."


@admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
def delete_selected(modeladmin: "ServiceAdmin", request: HttpRequest, queryset) -> HttpResponse | None:
    """Django's bulk delete (same confirmation page), with every object deleted by the service."""
    if not request.POST.get("post"):
        return django_delete_selected(modeladmin, request, queryset)  # the confirmation page
    try:
        # Django writes its admin log entries before deleting: they roll back with a refusal, too.
        with transaction.atomic():
            return django_delete_selected(modeladmin, request, queryset)
    except Refused as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return None


class ServiceAdmin(admin.ModelAdmin):
    """Deletes and saves through services; no adding (creation needs the app's forms and services).

    Subclasses implement `delete_with_service(request, obj)`, and `save_with_service(request, obj, form)`
    if they leave any field editable.
    """

    # A subclass named `delete_selected` replaces the admin site's action of that name.
    actions = [delete_selected]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_with_service(self, request: HttpRequest, obj) -> None:
        raise NotImplementedError

    def save_with_service(self, request: HttpRequest, obj, form) -> None:
        raise NotImplementedError

    def saved_copy(self, obj):
        """`obj` as stored: the admin form has already copied its new values onto `obj` itself."""
        return type(obj)._default_manager.get(pk=obj.pk)

    def delete_model(self, request: HttpRequest, obj) -> None:
        try:
            self.delete_with_service(request, obj)
        except (ValidationError, PermissionDenied) as exc:
            raise Refused(f"“{obj}” was not deleted: {refusal_message(exc)}") from exc

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        refusals = []
        for obj in queryset:
            try:
                with transaction.atomic():
                    self.delete_with_service(request, obj)
            except (ValidationError, PermissionDenied) as exc:
                refusals.append(f"“{obj}”: {refusal_message(exc)}")
        if refusals:
            raise Refused("Nothing was deleted. " + " ".join(refusals))

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if not form.changed_data:
            return
        try:
            self.save_with_service(request, obj, form)
        except (ValidationError, PermissionDenied) as exc:
            raise Refused(f"“{obj}” was not changed: {refusal_message(exc)}") from exc

    def _object_url(self, object_id: str) -> str:
        opts = self.opts
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id], current_app=self.admin_site.name
        )

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)  # atomic: a refusal rolls back
        except Refused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self._object_url(unquote(object_id)))

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self._object_url(unquote(object_id)) if object_id else request.path)
