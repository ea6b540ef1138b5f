"""A 200 MB file through the unmodified wandb SDK: `python big_file_scenario.py <config.json>`.

Logs one artifact holding a 200 MB file, then downloads it with `wandb.Api()` and hashes what arrived.
Prints one JSON object on its last line (the shape runner.run_scenario expects).
"""

import hashlib
import json
import os
import sys
import time
import traceback

SIZE = 200 * 1024 * 1024
BLOCK = 4 * 1024 * 1024


def main(config_path: str) -> dict:
    import wandb

    with open(config_path) as fh:
        config = json.load(fh)
    work, out = config["workdir"], {}
    path, digest = os.path.join(work, "big", "weights.bin"), hashlib.sha256()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:  # distinct blocks, so nothing downstream can shortcut repeated content
        for n in range(SIZE // BLOCK):
            block = n.to_bytes(8, "big") * (BLOCK // 8)
            digest.update(block)
            fh.write(block)
    out["sha256"] = digest.hexdigest()
    started = time.monotonic()
    run = wandb.init(entity=config["team"], project=config["project"], id="big-file-run")
    art = wandb.Artifact("big", type="model")
    art.add_file(path)
    logged = run.log_artifact(art)
    logged.wait()
    out["logged"], out["log_seconds"] = logged.version, round(time.monotonic() - started, 1)
    run.finish()
    started = time.monotonic()
    fetched = wandb.Api().artifact(f"{config['team']}/{config['project']}/big:{logged.version}")
    root = fetched.download(root=os.path.join(work, "download"))
    got = hashlib.sha256()
    with open(os.path.join(root, "weights.bin"), "rb") as fh:
        while chunk := fh.read(BLOCK):
            got.update(chunk)
    out["downloaded_sha256"], out["download_seconds"] = got.hexdigest(), round(time.monotonic() - started, 1)
    return out


if __name__ == "__main__":
    try:
        answer = main(sys.argv[1])
    except Exception:  # the test shows what the SDK said
        answer = {"crash": traceback.format_exc()[-3000:]}
    print(json.dumps(answer), flush=True)
