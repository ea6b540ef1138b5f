"""The registry page's collection rows are written in Python (issue 17): the same markup as the template
loop they replace, with every value escaped and URLs quoted as `reverse` quotes them."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from apps.collections.views.collection_rows import collection_rows

# templates/collections/registry_detail.html's row loop before issue 17.
TEMPLATE_ROWS = """              {% if can_write %}{% url 'collections:registry_link' org.slug registry.slug as link_url %}{% url 'automations:automation_create' org.slug registry.slug as automation_url %}{% endif %}
              {% for collection in page.rows %}
                <tr>
                  <td><a class="collection-name" href="{% url 'collections:collection_detail' org.slug registry.slug collection.name %}">{{ collection.name }}</a></td>
                  <td><span class="chip chip-type">{{ collection.type }}</span></td>
                  <td class="hide-sm"><span class="chips">{% for tag in collection.tags.all %}<span class="chip chip-tag">{{ tag.name }}</span>{% endfor %}</span></td>
                  <td class="num">{{ collection.version_count }}</td>
                  <td>{% if collection.latest_index is not None %}<a href="{% url 'collections:version_detail' org.slug registry.slug collection.name collection.latest_index %}">v{{ collection.latest_index }}</a>{% else %}<span class="muted">—</span>{% endif %}</td>
                  <td class="muted hide-sm"><time datetime="{{ collection.updated_at|date:'c' }}" title="{{ collection.updated_at }}">{{ collection.updated_at|timesince }} ago</time></td>
                  {% if can_write %}
                    <td>
                      <details class="row-menu">
                        <summary class="btn btn-small" aria-label="Actions for {{ collection.name }}">…</summary>
                        <div class="row-menu-body">
                          <a href="{{ link_url }}?collection={{ collection.name|urlencode }}" aria-label="Link a new version into {{ collection.name }}">Link new version</a>
                          <a href="{{ automation_url }}?collection={{ collection.pk }}" aria-label="Create an automation for {{ collection.name }}">Create automation</a>
                        </div>
                      </details>
                    </td>
                  {% endif %}
                </tr>
              {% endfor %}"""

HOSTILE = "<b onclick=\"x()\"> & 'quoted' ?#%;=+ é"  # collection names hold no "/"


def collection(pk: int, name: str, **overrides) -> SimpleNamespace:
    tags = overrides.pop("tags", ["vision"])
    values = {
        "pk": pk,
        "name": name,
        "type": "model",
        "version_count": 12,
        "latest_index": 11,
        "updated_at": timezone.now() - dt.timedelta(days=3, hours=2),
        "tags": SimpleNamespace(all=lambda: [SimpleNamespace(name=tag) for tag in tags]),
    }
    return SimpleNamespace(**(values | overrides))


ROWS = [
    collection(1, "classifier"),
    collection(2, HOSTILE, type=HOSTILE, tags=[HOSTILE, "b"], latest_index=0, version_count=1),
    collection(3, "empty one", latest_index=None, version_count=0, tags=[]),
]


def normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


@pytest.mark.parametrize("can_write", [True, False])
@pytest.mark.parametrize("index", range(len(ROWS)))
def test_collection_rows_write_what_the_template_wrote(can_write, index):
    org, registry = SimpleNamespace(slug="acme"), SimpleNamespace(slug="golden-models")
    context = {"page": SimpleNamespace(rows=[ROWS[index]]), "org": org, "registry": registry, "can_write": can_write}
    expected = Template(TEMPLATE_ROWS).render(Context(context))
    written = collection_rows(
        [ROWS[index]],
        registry_url=reverse("collections:registry_detail", args=["acme", "golden-models"]),
        link_url=reverse("collections:registry_link", args=["acme", "golden-models"]),
        automation_url=reverse("automations:automation_create", args=["acme", "golden-models"]),
        can_write=can_write,
    )
    assert normalized(written) == normalized(expected)


def test_collection_rows_escape_hostile_names():
    written = collection_rows([ROWS[1]], registry_url="/r/", link_url="/l/", automation_url="/a/", can_write=True)
    assert "<b " not in written
    assert "&lt;b onclick=&quot;x()&quot;&gt; &amp; &#x27;quoted&#x27;" in written
