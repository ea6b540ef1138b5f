"""The collection page's version rows are written in Python (issue 17): the same markup as the template
loop they replace, with every value escaped."""

import re
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from apps.collections.views.version_rows import version_rows

# The template loop the Python replaces (templates/collections/collection_detail.html before issue 17).
TEMPLATE_ROWS = """
{% for row in rows %}
  <tr>
    <td><input type="checkbox" name="compare" value="{{ row.link.index }}" form="compare-form" aria-label="Compare v{{ row.link.index }}"{% if row.compared %} checked{% endif %}></td>
    <td><a class="mono" href="{{ row.url }}">v{{ row.link.index }}</a></td>
    <td><span class="chips">{% for alias in row.aliases %}<span class="chip {% if alias.protected %}chip-protected{% else %}chip-alias{% endif %}" title="{{ alias.name }}">{{ alias.name }}</span>{% endfor %}</span></td>
    <td><span class="chips">{% for tag in row.tags %}<span class="chip chip-tag" title="{{ tag }}">{{ tag }}</span>{% endfor %}</span></td>
    <td class="mono small"><div class="source-cell" title="{{ row.source }}">{% if row.source_url %}<a href="{{ row.source_url }}">{{ row.source }}</a>{% else %}{{ row.source }}{% endif %}</div></td>
    <td>{{ row.link.creator_name|default:"—" }}</td>
    <td><time datetime="{{ row.linked_at.iso }}"{% if row.link.linker_name %} title="Linked by {{ row.link.linker_name }}"{% endif %}>{{ row.linked_at.text }}</time></td>
    <td class="num">{{ row.size }}</td>
    {% if can_write %}
      <td class="row-actions">
        {% if row.locked %}
          <button type="button" class="btn btn-small" disabled title="Holds a protected alias: only registry admins can unlink it">Unlink</button>
        {% else %}
          <button type="submit" class="btn btn-small" form="unlink-form" formaction="{{ row.url }}unlink/" hx-post="{{ row.url }}unlink/"
                  hx-confirm="Unlink v{{ row.link.index }} from {{ collection.name }}? The source version {{ row.source }} is kept.">Unlink</button>
        {% endif %}
      </td>
    {% endif %}
  </tr>
{% endfor %}
"""

HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"


def row(index: int, *, hostile: bool = False, **overrides) -> dict:
    name = HOSTILE if hostile else "alice"
    values = {
        "link": SimpleNamespace(index=index, creator_name=name, linker_name=name),
        "size": "1.0\xa0MB",
        "linked_at": {"iso": "2026-11-30T12:00:00+00:00", "text": "2026-11-30 12:00"},
        "url": f"/orgs/o/registry/r/c{'&<>' if hostile else ''}/v{index}/",
        "aliases": [{"name": "latest", "protected": False}, {"name": "production", "protected": True}]
        + ([{"name": HOSTILE, "protected": False}] if hostile else []),
        "tags": ["nightly", HOSTILE] if hostile else ["nightly"],
        "source": f"team/{name}/model:v{index}",
        "source_url": f"/team/{name}/artifacts/model/v{index}/",
        "locked": False,
        "compared": False,
    }
    return values | overrides


def normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


ROWS = [
    row(7),
    row(6, hostile=True),
    row(5, locked=True, compared=True),
    row(4, source_url="", link=SimpleNamespace(index=4, creator_name="", linker_name=None), aliases=[], tags=[]),
]


@pytest.mark.parametrize("can_write", [True, False])
@pytest.mark.parametrize("collection_name", ["model", HOSTILE])
def test_version_rows_write_what_the_template_wrote(can_write, collection_name):
    expected = Template(TEMPLATE_ROWS).render(
        Context({"rows": ROWS, "can_write": can_write, "collection": {"name": collection_name}})
    )
    written = version_rows(ROWS, can_write=can_write, collection_name=collection_name)
    assert normalized(written) == normalized(expected)


def test_version_rows_escape_hostile_names():
    written = version_rows([row(6, hostile=True)], can_write=True, collection_name=HOSTILE)
    assert "<script>" not in written
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;" in written
    assert 'href="/orgs/o/registry/r/c&amp;&lt;&gt;/v6/"' in written
    assert written.count("<tr>") == 1


def test_locked_rows_offer_no_unlink_and_readers_see_no_actions():
    locked = version_rows([row(5, locked=True)], can_write=True, collection_name="model")
    assert "disabled" in locked
    assert "unlink-form" not in locked
    assert "row-actions" not in version_rows([row(5)], can_write=False, collection_name="model")
    assert 'aria-label="Compare v5" checked>' in version_rows(
        [row(5, compared=True)], can_write=False, collection_name="m"
    )
