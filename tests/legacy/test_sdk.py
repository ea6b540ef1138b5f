"""The unmodified wandb SDK's `link_model` / `use_model` against the live server (one SDK process, seconds)."""

from pathlib import Path

import pytest

from apps.artifacts.models import ArtifactUsage
from apps.legacy.models import ModelAlias, ModelLink
from tests.wandb_api.conftest import keys, sdk_server  # noqa: F401 (the live server, serialized; API keys)
from tests.wandb_api.runner import run_scenario

pytestmark = pytest.mark.django_db(transaction=True)


def test_link_model_and_use_model_with_the_real_sdk(world, keys, sdk_server, tmp_path):  # noqa: F811
    out = run_scenario(sdk_server.url, keys, tmp_path, script=Path(__file__).with_name("sdk_scenario.py"))
    assert "crash" not in out, out.get("crash")
    link = ModelLink.objects.select_related("model__team", "version__sequence").get()
    assert (link.model.team.name, link.model.name, link.index) == ("vision", "resnet", 0)
    assert link.version.sequence.name == "resnet-src"  # the logged source artifact: linked, not copied
    assert ModelAlias.objects.filter(link=link, alias="staging").exists()
    assert out["staging"] is True and out["v0"] is True
    assert ArtifactUsage.objects.filter(version=link.version).exists()  # use_model recorded lineage
