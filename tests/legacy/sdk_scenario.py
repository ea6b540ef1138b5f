"""The wandb SDK's legacy calls, unmodified, in a subprocess: `python sdk_scenario.py <config.json>`.

`run.link_model` into `<team>/model-registry/resnet`, then `run.use_model` of it by alias and by index.
Prints one JSON object on its last line (same shape as tests/wandb_api/scenario.py).
"""

import json
import os
import sys
import traceback


def main(config_path: str) -> dict:
    import wandb

    with open(config_path) as fh:
        config = json.load(fh)
    team, project, work = config["team"], config["project"], config["workdir"]
    out: dict = {"sdk": wandb.__version__}
    run = wandb.init(entity=team, project=project, id="legacy-run")
    model_file = os.path.join(work, "model.pt")
    with open(model_file, "wb") as fh:
        fh.write(b"legacy weights\n" * 100)
    run.link_model(path=model_file, registered_model_name="resnet", name="resnet-src", aliases=["staging"])
    for ref in ("staging", "v0"):
        path = run.use_model(f"{team}/model-registry/resnet:{ref}")
        downloaded = path if os.path.isfile(path) else os.path.join(path, "model.pt")
        with open(downloaded, "rb") as fh:
            out[ref] = fh.read() == b"legacy weights\n" * 100
    run.finish()
    return out


if __name__ == "__main__":
    try:
        answer = main(sys.argv[1])
    except Exception:  # the test shows what went wrong
        answer = {"crash": traceback.format_exc()[-3000:]}
    print(json.dumps(answer))
