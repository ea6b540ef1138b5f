"""The unmodified wandb SDK logs, links, downloads and edits through /graphql (one SDK process per test)."""

import pytest

from .conftest import run_scenario

pytestmark = pytest.mark.django_db(transaction=True)


def test_sdk_scenario(sdk_world, keys, sdk_server, tmp_path):
    out = run_scenario(sdk_server.url, keys, tmp_path)
    assert "crash" not in out, out.get("crash")
    import json, sys
    sys.stderr.write(json.dumps(out, indent=1) + "\n")
