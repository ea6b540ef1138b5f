"""The wandb SDK scenario, run in a subprocess with the real, unmodified SDK: `python scenario.py <config.json>`.

It prints one JSON object (what it saw) on its last line. The test that starts it checks the server's
database; bench/wandb_compat.py runs it with other SDK versions. Keys and names come from the config:
{"org", "team", "project", "registry", "restricted_registry", "restricted_collection", "keys": {persona: key},
"workdir"}. Only public SDK calls are used.
"""

import hashlib
import json
import os
import sys
import time
import traceback


def main(config_path: str) -> dict:
    import wandb

    with open(config_path) as fh:
        config = json.load(fh)
    keys, org, team, project = config["keys"], config["org"], config["team"], config["project"]
    work = config["workdir"]
    target = f"{org}/wandb-registry-{config['registry']}/resnet"
    out: dict = {"sdk": wandb.__version__, "rounds": [], "errors": {}}
    started = time.monotonic()

    # (a) a run, with config.
    run = wandb.init(entity=team, project=project, config={"lr": 0.01, "arch": "resnet"}, id="scenario-run")
    out["run_id"] = run.id
    # (b)+(c) three rounds: log a folder (two files, the first round three), link it; `latest` moves.
    for n in range(3):
        folder = os.path.join(work, f"round{n}")
        os.makedirs(os.path.join(folder, "sub"), exist_ok=True)
        with open(os.path.join(folder, "model.bin"), "wb") as fh:
            fh.write(f"weights of round {n}\n".encode() * 1000)
        with open(os.path.join(folder, "sub", "config.json"), "w") as fh:
            json.dump({"round": n}, fh)
        if n == 0:
            with open(os.path.join(folder, "README.md"), "w") as fh:
                fh.write("first round\n")
        art = wandb.Artifact("resnet", type="model", metadata={"round": n, "accuracy": round(0.8 + n / 100, 2)})
        art.add_dir(folder)
        logged = run.log_artifact(art)
        logged.wait()
        aliases = ["candidate"] if n == 2 else []
        if n == 1:
            logged.link(target, aliases=aliases)  # art.link
        else:
            run.link_artifact(logged, target_path=target, aliases=aliases)
        out["rounds"].append({"version": logged.version, "digest": logged.digest, "id": logged.id})
    run.log({"acc": 0.93, "loss": 0.12})

    # Re-logging identical content is the same version, without uploading.
    again = wandb.Artifact("resnet", type="model", metadata={"round": 2, "accuracy": 0.82})
    again.add_dir(os.path.join(work, "round2"))
    again = run.log_artifact(again)
    again.wait()
    out["relogged_version"] = again.version

    # (d) fetch from the registry by alias and by version, download, read.
    api = wandb.Api(api_key=keys["member"], overrides={"base_url": os.environ["WANDB_BASE_URL"]})
    latest = api.artifact(f"{target}:latest")
    root = latest.download(root=os.path.join(work, "download"))
    out["latest"] = {
        "version": latest.version,
        "aliases": sorted(latest.aliases),
        "metadata": latest.metadata,
        "files": sorted(f.name for f in latest.files()),
        "downloaded": sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs),
        "model_sha256": _sha256(os.path.join(root, "model.bin")),
        "type": latest.type,
        "name": latest.name,
    }
    first = api.artifact(f"{target}:v0")
    out["v0_files"] = sorted(f.name for f in first.files())
    # Without the org prefix (a user in one organization) and with the display name and old core names.
    short = target.split("/", 1)[1]
    out["no_org_prefix_version"] = api.artifact(f"{short}:candidate").version
    for label, path in [("display_name", config.get("org_display_name")), ("old_name", config.get("old_path"))]:
        if path:
            out[label] = _try(lambda p=path: api.artifact(p).version)

    # use_artifact: a lineage input of the run.
    used = run.use_artifact(f"{target}:v0")
    out["used"] = used.version

    # Alias edits through the SDK.
    edit = api.artifact(f"{target}:v1")
    edit.aliases.append("reviewed")
    edit.save()
    out["after_add"] = sorted(api.artifact(f"{target}:v1").aliases)
    edit = api.artifact(f"{target}:v1")
    edit.aliases.remove("reviewed")
    edit.save()
    out["after_remove"] = sorted(api.artifact(f"{target}:v1").aliases)
    # Metadata edits through the SDK (a registry Member edits the source version's metadata).
    edit = api.artifact(f"{target}:v1")
    edit.metadata["reviewed_by"] = "scenario"
    edit.save()
    out["metadata_after"] = api.artifact(f"{target}:v1").metadata
    # A time-to-live on a source version (its team): `artifact.ttl = timedelta(…); artifact.save()`.
    import datetime

    source = api.artifact(f"{team}/{project}/resnet:v0")
    source.ttl = datetime.timedelta(days=30)
    source.save()
    out["ttl_after"] = str(api.artifact(f"{team}/{project}/resnet:v0").ttl)

    # (e)
    run.finish()
    out["five_steps_seconds"] = round(time.monotonic() - started, 2)

    # Permissions, each with its own key.
    restricted = f"{org}/wandb-registry-{config['restricted_registry']}/{config['restricted_collection']}:v0"
    rv = wandb.Api(api_key=keys["restricted_viewer"], overrides={"base_url": os.environ["WANDB_BASE_URL"]})
    out["errors"]["restricted_viewer_sees"] = _try(lambda: rv.artifact(restricted).version)
    out["errors"]["restricted_viewer_download"] = _try(
        lambda: rv.artifact(restricted).download(root=os.path.join(work, "rv"))
    )
    outsider = wandb.Api(api_key=keys["outsider"], overrides={"base_url": os.environ["WANDB_BASE_URL"]})
    out["errors"]["outsider_fetch"] = _try(lambda: outsider.artifact(restricted).version)
    viewer = wandb.Api(api_key=keys["viewer"], overrides={"base_url": os.environ["WANDB_BASE_URL"]})
    out["errors"]["viewer_link"] = _try(
        lambda: viewer.artifact(f"{target}:v0").link(f"{org}/wandb-registry-{config['restricted_registry']}/stolen")
    )
    return out


def _sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _try(fn):
    try:
        return {"ok": repr(fn())}
    except Exception as error:  # the SDK's own error types vary between versions
        return {"error": f"{type(error).__name__}: {error}"[:600]}


if __name__ == "__main__":
    try:
        result = main(sys.argv[1])
    except Exception:
        result = {"crash": traceback.format_exc()[-3000:]}
    print(json.dumps(result))
