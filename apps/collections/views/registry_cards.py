"""The landing page's registry cards, written in Python rather than by an included template (issue 17).

An org member sees dozens of cards (50 registries at company size); through the template engine, each
card's include, URL tags, filters and escapes were a quarter of the landing page's time. Here every
value goes through `escape` once, and the markup is the template's, tag for tag:
tests/collections/test_registry_cards.py holds it to the template's output.
"""

from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

CORE = '<span class="badge badge-core">Core</span>'


def _plural(count: int, word: str) -> str:
    return f"<span>{count} {word}{'' if count == 1 else 's'}</span>"


def registry_card(registry, *, registry_url: str, csrf_token: str) -> str:
    """One card: name, badges, the star toggle (a form), description, accepted types and counts."""
    name, starred, star_url = escape(registry.name), registry.is_starred, escape(f"{registry_url}star/")
    types = (
        '<span class="chip chip-type">all types</span>'
        if registry.allow_all_types
        else "".join(f'<span class="chip chip-type">{escape(t)}</span>' for t in registry.artifact_types)
    )
    description = (
        f'<p class="muted small">{escape(Truncator(registry.description).chars(140))}</p>'
        if registry.description
        else ""
    )
    return (
        '<article class="card card-link">\n  <h3>\n'
        f'    <a class="card-stretch" href="{escape(registry_url)}">{name}</a>\n'
        f"    {CORE if registry.is_core else ''}\n"
        f'    <span class="badge{" badge-restricted" if registry.visibility == "restricted" else ""}" title="Visibility">'
        f"{escape(registry.get_visibility_display())}</span>\n"
        f'    <form class="card-star" method="post" action="{star_url}" hx-post="{star_url}">\n'
        f'      <input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">\n'
        f'      <input type="hidden" name="starred" value="{"0" if starred else "1"}">\n'
        '      <input type="hidden" name="from" value="landing">\n'
        f'      <button type="submit" class="btn btn-small btn-icon{" star-on" if starred else ""}"'
        f' aria-pressed="{"true" if starred else "false"}"\n'
        f'              aria-label="{"Unstar" if starred else "Star"} {name}"'
        f' title="{"Unstar" if starred else "Star: show it first"}">{"★" if starred else "☆"}</button>\n'
        "    </form>\n  </h3>\n"
        f"  {description}\n"
        f'  <div class="chips" aria-label="Accepted artifact types">\n    {types}\n  </div>\n'
        '  <div class="stats">\n'
        f"    {_plural(registry.collection_count, 'collection')}\n"
        f"    {_plural(registry.version_count, 'version')}\n"
        "  </div>\n</article>\n"
    )


def registry_cards(registries: list, *, org_slug: str, csrf_token: str) -> SafeString:
    """The cards of `registries` (annotated with `is_starred`, `collection_count`, `version_count`)."""
    # One reversed prefix: registry slugs are URL-safe, so each page's URL is the prefix and the slug.
    prefix = reverse("collections:landing", args=[org_slug])
    return mark_safe(  # noqa: S308 (registry_card escapes every value it writes)
        "".join(
            registry_card(registry, registry_url=f"{prefix}{registry.slug}/", csrf_token=csrf_token)
            for registry in registries
        )
    )
