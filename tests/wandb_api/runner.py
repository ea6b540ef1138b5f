"""Start tests/wandb_api/scenario.py with a given Python (and its wandb); no Django here, so the bench uses it too."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCENARIO = Path(__file__).with_name("scenario.py")


def sdk_env(base_url: str, api_key: str, home: Path) -> dict:
    """Offline, quiet, no retries worth waiting for: the protocol page's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        HOME=str(home),
        WANDB_BASE_URL=base_url,
        WANDB_API_KEY=api_key,
        WANDB_SILENT="true",
        WANDB_DISABLE_CODE="true",
        WANDB_DISABLE_GIT="true",
        WANDB_ERROR_REPORTING="false",
        WANDB_X_DISABLE_STATS="true",
        WANDB_X_DISABLE_MACHINE_INFO="true",
        WANDB_X_DISABLE_META="true",
        WANDB_CONSOLE="off",
        WANDB_X_GRAPHQL_RETRY_MAX="1",
        WANDB_HTTP_TIMEOUT="20",
        WANDB_DIR=str(home / "wandb"),
        WANDB_CACHE_DIR=str(home / "cache"),
        WANDB_CONFIG_DIR=str(home / "config"),
        WANDB_DATA_DIR=str(home / "data"),
    )
    return env


def run_scenario(
    base_url: str, keys: dict, tmp_path: Path, python: str = sys.executable, script: Path = SCENARIO, **extra
) -> dict:
    """Run scenario.py (or another `script` of the same shape) with the SDK installed for `python`; its JSON answer."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = {
        "org": "acme",
        "org_display_name": "Acme ML/wandb-registry-model/resnet:v2",
        "old_path": "acme/wandb-registry-Models/resnet:v2",
        "team": "vision",
        "project": "detector",
        "registry": "model",
        "restricted_registry": "Golden Models",
        "restricted_collection": "classifier",
        "keys": keys,
        "workdir": str(tmp_path / "work"),
        **extra,
    }
    (tmp_path / "work").mkdir(exist_ok=True)
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(config))
    proc = subprocess.run(
        [python, str(script), str(path)],
        env=sdk_env(base_url, keys["member"], home),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no answer from the SDK (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])
