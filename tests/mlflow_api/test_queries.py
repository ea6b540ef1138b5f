"""Search answers cost the same number of queries whatever the page holds (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.collections import services
from apps.orgs import services as orgs

# Built afresh (not the world snapshot): after a live-server test's flush in the same process the
# snapshot's rows point at renumbered permissions.
pytestmark = pytest.mark.django_db(transaction=True)

URL = "/orgs/acme/registry/golden-models/mlflow/api/2.0/mlflow/"


def test_search_query_counts_do_not_grow_with_rows(world, client):
    member = world["member"]
    _, key = orgs.create_api_key(actor=member, user=member, name="counts")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def counts() -> tuple[int, int]:
        found = []
        for path in ("registered-models/search", "model-versions/search"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(URL + path, {"filter": "tags.k != 'x'"}, **auth)
            assert response.status_code == 200, response.content
            found.append(len(queries))
        return tuple(found)

    def add(name: str) -> None:
        collection = services.create_collection(actor=member, registry=world.registry, name=name, type="model")
        services.set_collection_tag(actor=member, collection=collection, key="k", value=name)
        link = services.register_reference(
            actor=member, registry=world.registry, collection_name=name, uri=f"s3://b/{name}", tags={"k": name}
        )
        services.add_alias(actor=member, link=link, alias="champion")

    add("m0")
    client.get(URL + "registered-models/get", {"name": "m0"}, **auth)  # the key's once-a-minute last_used_at write
    # Models: key, registry, permissions, page, aliases, tags, latest links, their aliases, their tags (9).
    # Versions: key, registry, permissions, page, aliases, tags (6).
    one = counts()
    assert one == (9, 6)
    for i in range(1, 8):
        add(f"m{i}")
    assert counts() == one
