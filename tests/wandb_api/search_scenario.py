"""The registry search API of the real, unmodified wandb SDK (0.31): `python search_scenario.py <config.json>`.

Runs `api.registries()`, `.collections()`, `.versions()` (with filters, small pages) and the same from
`api.registry(name)`, for a member, a newcomer who sees fewer registries, and an outsider. Prints one
JSON object (what each call returned) on its last line; the test checks it against the database.
Config: {"org", "org_name", "keys": {"member", "newcomer", "outsider"}}. No Django here.
"""

import json
import os
import sys
import time
import traceback


def _api(key: str):
    import wandb

    return wandb.Api(api_key=key, overrides={"base_url": os.environ["WANDB_BASE_URL"]})


def _versions(artifacts) -> list[list]:
    """[registry project, "collection:vN", sorted aliases] per artifact, in the order served."""
    return [[a.project, a.name, sorted(a.aliases)] for a in artifacts]


def main(config_path: str) -> dict:
    import wandb

    with open(config_path) as fh:
        config = json.load(fh)
    keys, org = config["keys"], config["org"]
    out: dict = {"sdk": wandb.__version__}
    started = time.monotonic()
    api = _api(keys["member"])

    # Registries: all, by exact name (the SDK adds the prefix), by $regex (sees the prefix), in pages of one.
    out["registries"] = [r.name for r in api.registries(organization=org)]
    out["registries_by_display_name"] = [r.name for r in api.registries(organization=config["org_name"])]
    out["registry_named"] = [r.name for r in api.registries(organization=org, filter={"name": "Model"})]
    out["registry_regex"] = [
        r.name for r in api.registries(organization=org, filter={"name": {"$regex": "^wandb-registry-Gold"}})
    ]
    paged = api.registries(organization=org, per_page=1, order="-name")
    out["registries_paged_desc"] = [(r.name, r.visibility) for r in paged]

    # Collections across the registries, by tag, two per page; their count; then the versions of those.
    tagged = api.registries(organization=org).collections(filter={"tag": "vision"}, per_page=2)
    out["tagged_collections"] = [[c.project, c.name, sorted(c.tags)] for c in tagged]
    out["tagged_count"] = len(tagged)
    in_model = api.registries(organization=org, filter={"name": "Model"})
    out["tagged_versions_in_model"] = _versions(in_model.collections(filter={"tag": "vision"}).versions())

    # Versions by alias across every registry the member sees, one per page.
    out["production"] = _versions(api.registries(organization=org).versions(filter={"alias": "production"}, per_page=1))
    out["metadata_match"] = _versions(
        api.registries(organization=org).versions(filter={"$and": [{"metadata.round": {"$gte": 3}}, {"version": 0}]})
    )

    # One registry, by name: its settings, collections and versions.
    model = api.registry("Model", organization=org)
    out["model"] = {"name": model.name, "visibility": model.visibility, "full_name": model.full_name}
    out["model_collections"] = [c.name for c in model.collections(per_page=2)]
    out["model_collections_regex"] = [c.name for c in model.collections(filter={"name": {"$regex": "^search-[12]$"}})]
    out["model_production"] = _versions(model.versions(filter={"alias": "production"}))
    golden = api.registry("Golden Models", organization=org)
    out["golden_versions"] = _versions(golden.versions())

    # A newcomer sees only the organization's open registries; an outsider sees nothing.
    newcomer = _api(keys["newcomer"])
    out["newcomer_registries"] = [r.name for r in newcomer.registries(organization=org)]
    out["newcomer_production"] = _versions(
        newcomer.registries(organization=org).versions(filter={"alias": "production"})
    )
    out["newcomer_golden"] = _try(lambda: newcomer.registry("Golden Models", organization=org).name)
    outsider = _api(keys["outsider"])
    out["outsider_registries"] = _try(lambda: [r.name for r in outsider.registries(organization=org)])
    out["outsider_versions"] = _try(lambda: _versions(outsider.registries(organization=org).versions()))
    out["seconds"] = round(time.monotonic() - started, 2)
    return out


def _try(fn):
    try:
        return {"ok": fn()}
    except Exception as error:  # the SDK's own error types vary between versions
        return {"error": f"{type(error).__name__}: {error}"[:600]}


if __name__ == "__main__":
    try:
        result = main(sys.argv[1])
    except Exception:
        result = {"crash": traceback.format_exc()[-3000:]}
    print(json.dumps(result))
