"""Names people give things (artifacts, types, collections, registries, aliases, tags, projects, runs,
teams, automations…): the characters no name may hold, checked in one place, and look-alike detection.

A name is shown in lists, paths and URLs next to others, so it must read as what it is:
- no control characters (NUL, tab, newline, DEL, C1), no invisible formatting characters (the bidi
  controls that reorder text like U+202E, zero-width spaces and joiners, the BOM), no line or
  paragraph separators, no unpaired surrogates;
- not `.` or `..`, which paths and URLs read as "here" and "up";
- not a look-alike of a sibling: `fold()` maps fullwidth, compatibility and case variants to one key
  (NFKC, then case folding), and `lookalike()` finds an existing name with the same key.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

# Unicode categories no name may contain: control, format (bidi controls, zero-width characters),
# surrogate, line separator, paragraph separator.
REFUSED_CATEGORIES = {"Cc": "control", "Cf": "invisible formatting", "Cs": "unpaired surrogate"}
REFUSED_SEPARATORS = {"\u2028", "\u2029"}


def _describe(char: str) -> str:
    name = unicodedata.name(char, "") if unicodedata.category(char) != "Cs" else ""
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name anything, or None. `name` is already stripped."""
    for char in name:
        kind = REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind is None and char in REFUSED_SEPARATORS:
            kind = "control"
        if kind is not None:
            return f"cannot contain {kind} characters ({_describe(char)})"
    if name in (".", ".."):
        return "cannot be “.” or “..”"
    return None


def check_name_characters(name: str, field: str = "name", what: str = "Names") -> str:
    """`name`, or ValidationError naming `field` when it holds a character or form no name may have.

    Every name validator calls this first: one rule for what a name may contain, everywhere.
    """
    if problem := name_problem(name):
        raise ValidationError({field: f"{what} {problem}."})
    return name


def fold(name: str) -> str:
    """The key two names share when a person could not tell them apart: NFKC, case-folded (twice,
    since case folding can produce characters NFKC would change again)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


# Names made only of printable ASCII fold to themselves lowercased, so only those with other characters
# (and the same name in another case) can share a key: the database narrows siblings to those.
_NOT_PRINTABLE_ASCII = r"[^ -~]"


def lookalike(name: str, siblings: QuerySet, field: str = "name") -> str | None:
    """The existing `field` value among `siblings` that reads the same as `name` (case, width and
    compatibility forms aside), or None. One query over the sibling names that could match."""
    key = fold(name)
    candidates = siblings.filter(Q(**{f"{field}__iexact": key}) | Q(**{f"{field}__regex": _NOT_PRINTABLE_ASCII}))
    for existing in candidates.values_list(field, flat=True).iterator():
        if fold(existing) == key:
            return existing
    return None


def check_unique_name(name: str, siblings: QuerySet, *, field: str = "name", what: str, scope: str) -> str:
    """`name`, or ValidationError when a sibling has it already or one that reads the same."""
    existing = lookalike(name, siblings, field)
    if existing is None:
        return name
    if existing.lower() == name.lower():
        raise ValidationError({field: f"{what} “{existing}” already exists in {scope}."})
    raise ValidationError(
        {field: f"“{name}” reads the same as {what.lower()} “{existing}” in {scope}; choose a distinct name."}
    )
