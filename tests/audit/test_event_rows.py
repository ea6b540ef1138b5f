"""The audit tables' rows are written in Python (issue 17): the same markup as the template loop they
replace, with every value escaped."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from apps.audit.views import event_rows

# templates/audit/_events.html's row loop before issue 17.
TEMPLATE_ROWS = """        {% for event in audit_events %}
          <tr>
            <td class="nowrap"><time datetime="{{ event.created_at.isoformat }}">{{ event.created_at|date:"Y-m-d H:i:s" }}</time></td>
            <td>{{ event.actor_username|default:"system" }}{% if event.actor.service_account %} <span class="badge badge-service">service account</span>{% endif %}{% if event.actor_detail and event.actor_detail != "web" %} <span class="muted">({{ event.actor_detail }})</span>{% endif %}{% if event.actor_ip %}<br><span class="muted">{{ event.actor_ip }}</span>{% endif %}</td>
            <td class="nowrap"><code>{{ event.action }}</code></td>
            <td>{{ event.target_repr }}</td>
            <td class="audit-details">{% for item in event.details %}<span class="detail">{% if item.label %}<span class="muted">{{ item.label }}</span> {% endif %}{% if "before" in item %}<span class="before">{{ item.before }}</span> → <span class="after">{{ item.after }}</span>{% else %}{{ item.value }}{% endif %}</span>{% empty %}<span class="muted">—</span>{% endfor %}</td>
          </tr>
        {% endfor %}"""

HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"
WHEN = dt.datetime(2026, 11, 30, 12, 34, 56, 789, tzinfo=dt.UTC)


def event(**overrides) -> SimpleNamespace:
    values = {
        "created_at": WHEN,
        "actor_username": "alice",
        "actor": SimpleNamespace(),  # a person: no service account
        "actor_detail": "web",
        "actor_ip": "10.0.0.1",
        "action": "collection:link",
        "target_repr": "model:v3",
        "details": lambda: [{"label": "aliases", "value": "latest, production"}],
    }
    return SimpleNamespace(**(values | overrides))


EVENTS = [
    event(),
    event(actor_username="", actor=None, actor_detail="", actor_ip=None, details=lambda: []),
    event(actor=SimpleNamespace(service_account=object()), actor_detail="api key ci", actor_ip=""),
    event(
        actor_username=HOSTILE,
        actor_detail=HOSTILE,
        actor_ip=HOSTILE,
        action=HOSTILE,
        target_repr=HOSTILE,
        details=lambda: [
            {"label": "", "before": HOSTILE, "after": "none"},
            {"label": HOSTILE, "value": HOSTILE},
            {"label": "role", "before": "viewer", "after": "admin"},
        ],
    ),
]


def normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


@pytest.mark.parametrize("index", range(len(EVENTS)))
def test_event_rows_write_what_the_template_wrote(index):
    expected = Template(TEMPLATE_ROWS).render(Context({"audit_events": [EVENTS[index]]}))
    assert normalized(event_rows([EVENTS[index]])) == normalized(expected)


def test_event_rows_escape_hostile_values():
    written = event_rows([EVENTS[3]])
    assert "<script>" not in written
    assert written.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;") == 8
