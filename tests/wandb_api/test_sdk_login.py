"""`wandb login --host <Registry> <key>` checks the key against /graphql and saves it for that host."""

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.wandb_api.runner import sdk_env

pytestmark = pytest.mark.django_db(transaction=True)


def _login(server_url: str, key: str, home: Path) -> subprocess.CompletedProcess:
    env = sdk_env(server_url, key, home)
    env.pop("WANDB_API_KEY", None)  # the key comes from the command line, as a new user types it
    command = [str(Path(sys.executable).with_name("wandb")), "login", "--relogin", "--host", server_url, key]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_wandb_login_host_accepts_a_registry_key_and_refuses_a_wrong_one(keys, sdk_server, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    done = _login(sdk_server.url, keys["member"], home)
    assert done.returncode == 0, done.stdout + done.stderr
    netrc = (home / ".netrc").read_text()
    assert f"machine {urlsplit(sdk_server.url).netloc}" in netrc and keys["member"] in netrc
    wrong = _login(sdk_server.url, "reg-" + "x" * 40, tmp_path / "other")
    assert wrong.returncode != 0
