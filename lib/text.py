"""Text every input may carry, checked once: no NUL, no unpaired surrogates, JSON numbers that fit.

PostgreSQL cannot store NUL in text (a 500 from the driver) and SQLite stores it silently; an
unpaired surrogate (`"\\ud800"` in JSON) cannot be encoded for either. `check_text` and
`check_json` refuse both for one value or a whole JSON tree; `RefuseNulMiddleware` applies them to
every request's URL, query string and form or JSON body, so no view or API operation sees them.
"""

import json
import math
import re

from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    if _SURROGATE_RE.search(value):
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def check_text(value: str, field: str) -> str:
    """`value`, or ValidationError naming `field` when it holds NUL or an unpaired surrogate."""
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValidationError({field: f"“{field}” {problem}."})
    return value


def json_problem(value, depth: int = 0, *, integers: bool = True) -> str | None:
    """Why a parsed JSON tree cannot be stored (NUL or a surrogate in any key or string, a number that
    is not finite, and with `integers` one past 64 bits), or None."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if not integers or INT64_MIN <= value <= INT64_MAX else "has an integer larger than 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else "has a number that is not finite (NaN or Infinity)"
    if depth > 100:
        return "is nested too deeply"
    if isinstance(value, dict):
        for key, item in value.items():
            if (problem := text_problem(str(key))) or (problem := json_problem(item, depth + 1, integers=integers)):
                return problem
    elif isinstance(value, list | tuple):
        for item in value:
            if problem := json_problem(item, depth + 1, integers=integers):
                return problem
    return None


def check_json(value, field: str):
    """`value` (parsed JSON), or ValidationError naming `field` for NUL, surrogates or unstorable numbers."""
    if problem := json_problem(value):
        raise ValidationError({field: f"“{field}” {problem}."})
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: str | bytes, *, integers: bool = True):
    """Strict JSON: no NaN or Infinity (Python's json takes both), no number that overflows to infinity,
    no NUL or surrogate in a string, and with `integers` no integer past 64 bits."""
    value = json.loads(raw, parse_constant=_refuse_constant)
    if problem := json_problem(value, integers=integers):
        raise ValueError(f"the JSON {problem}")
    return value


# Escapes through which a JSON document can carry NUL or a surrogate, and the tokens Python's json
# reads as non-finite numbers. Raw control bytes and bad UTF-8 are already errors for json.loads, so a
# body that matches none of these needs no second parse.
_JSON_SUSPECT_RE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|[:,\[]\s*-?(?:NaN|Infinity|[\d.]+[eE]\+?\d{3})")
JSON_TYPES = ("application/json",)


class RefuseNulMiddleware:
    """Answer 400 when a request's path, query string or body carries NUL (or, in JSON, a surrogate
    or a number no column can hold), before any view or API operation reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self.problem(request)
        if problem is None:
            return self.get_response(request)
        message = f"The request {problem}."
        if request.path.startswith("/api/") or request.content_type in JSON_TYPES:
            return JsonResponse({"detail": message}, status=400)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")

    @staticmethod
    def problem(request) -> str | None:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return "contains a NUL character (%00) in its address"
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        if request.content_type == "application/x-www-form-urlencoded":
            # A literal "%00" in a form is sent as "%2500": any "%00" is a NUL.
            return "contains a NUL character (%00) in its form" if b"%00" in request.body else None
        if request.content_type in JSON_TYPES and _JSON_SUSPECT_RE.search(request.body):
            try:
                # Integers past 64 bits are left to the schemas, which name the field.
                loads(request.body, integers=False)
            except ValueError as exc:  # includes JSONDecodeError; ninja reports plain syntax errors itself
                if isinstance(exc, json.JSONDecodeError):
                    return None
                return f"is not JSON a database can store: {exc}"
        return None
