"""History lists (collection page, version History tab) are written in Python (issue 17): the same markup as
the template loops they replace, with every value escaped."""

import re
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from apps.collections.views.history import history_items

# The two template loops before issue 17: the collection page's, then the version page's History tab.
TEMPLATE_LOOPS = [
    """{% for item in history %}
            <li>
              <time datetime="{{ item.when.iso }}">{{ item.when.text }}</time>
              <strong>{{ item.event.actor_username|default:"system" }}</strong>{% if item.event.actor.service_account %} <span class="badge badge-service">service account</span>{% endif %} {{ item.text }}
            </li>
          {% endfor %}""",
    """{% for item in history %}
              <li><time datetime="{{ item.when.iso }}">{{ item.when.text }}</time> <strong>{{ item.event.actor_username|default:"system" }}</strong>{% if item.event.actor.service_account %} <span class="badge badge-service">service account</span>{% endif %} {{ item.text }}</li>
            {% endfor %}""",
]

HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"
WHEN = {"iso": "2026-11-30T12:00:00+00:00", "text": "2026-11-30 12:00"}
ROWS = [
    {"event": SimpleNamespace(actor_username="alice", actor=SimpleNamespace()), "when": WHEN, "text": "linked v3"},
    {"event": SimpleNamespace(actor_username="", actor=None), "when": WHEN, "text": "tagged v2"},
    {
        "event": SimpleNamespace(actor_username="ci", actor=SimpleNamespace(service_account=object())),
        "when": WHEN,
        "text": "added alias latest",
    },
    {"event": SimpleNamespace(actor_username=HOSTILE, actor=None), "when": WHEN, "text": HOSTILE},
]


def normalized(html: str) -> str:
    """Whitespace between tags and at the end of an item (the collection page's loop was indented) aside."""
    return re.sub(r"\s*</li>", "</li>", re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html)))).strip()


@pytest.mark.parametrize("loop", TEMPLATE_LOOPS)
def test_history_items_write_what_the_template_wrote(loop):
    expected = Template(loop).render(Context({"history": ROWS}))
    assert normalized(history_items(ROWS)) == normalized(expected)


def test_history_items_escape_hostile_values():
    written = history_items(ROWS[3:])
    assert "<script>" not in written
    assert written.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;") == 2
