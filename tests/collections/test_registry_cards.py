"""The landing page's registry cards are written in Python (issue 17): the same markup as the included
template they replace, with every value escaped."""

import re
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.urls import reverse

from apps.collections.views.registry_cards import registry_cards

# templates/registries/_registry_card.html before issue 17, as the landing page included it per registry.
TEMPLATE_CARDS = """{% for registry in registries %}
<article class="card card-link">
  <h3>
    <a class="card-stretch" href="{{ registry.get_absolute_url }}">{{ registry.name }}</a>
    {% if registry.is_core %}<span class="badge badge-core">Core</span>{% endif %}
    <span class="badge{% if registry.visibility == 'restricted' %} badge-restricted{% endif %}" title="Visibility">{{ registry.get_visibility_display }}</span>
    {% url 'registries:registry_star' org.slug registry.slug as star_url %}
    <form class="card-star" method="post" action="{{ star_url }}" hx-post="{{ star_url }}">
      {% csrf_token %}
      <input type="hidden" name="starred" value="{% if registry.is_starred %}0{% else %}1{% endif %}">
      <input type="hidden" name="from" value="landing">
      <button type="submit" class="btn btn-small btn-icon{% if registry.is_starred %} star-on{% endif %}" aria-pressed="{% if registry.is_starred %}true{% else %}false{% endif %}"
              aria-label="{% if registry.is_starred %}Unstar{% else %}Star{% endif %} {{ registry.name }}" title="{% if registry.is_starred %}Unstar{% else %}Star: show it first{% endif %}">{% if registry.is_starred %}★{% else %}☆{% endif %}</button>
    </form>
  </h3>
  {% if registry.description %}<p class="muted small">{{ registry.description|truncatechars:140 }}</p>{% endif %}
  <div class="chips" aria-label="Accepted artifact types">
    {% if registry.allow_all_types %}<span class="chip chip-type">all types</span>{% else %}{% for type in registry.artifact_types %}<span class="chip chip-type">{{ type }}</span>{% endfor %}{% endif %}
  </div>
  <div class="stats">
    <span>{{ registry.collection_count }} collection{{ registry.collection_count|pluralize }}</span>
    <span>{{ registry.version_count }} version{{ registry.version_count|pluralize }}</span>
  </div>
</article>
{% endfor %}"""

HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"


def registry(slug: str, **overrides) -> SimpleNamespace:
    values = {
        "slug": slug,
        "name": f"Registry {slug}",
        "is_core": False,
        "visibility": "organization",
        "allow_all_types": False,
        "artifact_types": ["model", "dataset"],
        "description": "",
        "is_starred": False,
        "collection_count": 2,
        "version_count": 1,
        "get_visibility_display": lambda: "Organization",
    }
    values |= overrides
    values["get_absolute_url"] = lambda: reverse("collections:registry_detail", args=["acme", slug])
    return SimpleNamespace(**values)


REGISTRIES = [
    registry("model", is_core=True, allow_all_types=True, collection_count=1, version_count=0, name="Model"),
    registry(
        "hostile",
        name=HOSTILE,
        description=HOSTILE * 10,
        artifact_types=[HOSTILE],
        visibility="restricted",
        get_visibility_display=lambda: "Restricted",
        is_starred=True,
    ),
    registry("plain", description="A short description."),
]


def normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


@pytest.mark.parametrize("index", range(len(REGISTRIES)))
def test_registry_cards_write_what_the_template_wrote(rf, index):
    request = rf.get("/")
    token = "t0k3n<&>"
    expected = Template(TEMPLATE_CARDS).render(
        Context({"registries": [REGISTRIES[index]], "org": {"slug": "acme"}, "csrf_token": token, "request": request})
    )
    written = registry_cards([REGISTRIES[index]], org_slug="acme", csrf_token=token)
    assert normalized(written) == normalized(expected)


def test_registry_cards_escape_hostile_names():
    written = registry_cards([REGISTRIES[1]], org_slug="acme", csrf_token="t")
    assert "<script>" not in written
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;" in written


def test_registry_cards_link_where_reverse_does():
    written = registry_cards([REGISTRIES[0]], org_slug="acme", csrf_token="t")
    assert f'href="{reverse("collections:registry_detail", args=["acme", "model"])}"' in written
    assert f'action="{reverse("registries:registry_star", args=["acme", "model"])}"' in written
