"""The `registry` CLI end to end: in-process through `main([...])`, and as a subprocess for exit codes."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from registry_client.cli import main
from registry_client.config import read_config

from .conftest import GOLDEN

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cli(live_server, api_key, isolated_config, monkeypatch, capsys):
    """cli("member", "ls", "acme") → (exit code, stdout, stderr) with that persona's key in the environment."""

    def run(persona, *argv):
        capsys.readouterr()
        monkeypatch.setenv("REGISTRY_BASE_URL", live_server.url)
        monkeypatch.setenv("REGISTRY_API_KEY", api_key(persona))
        code = main(["--no-progress", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_login_verifies_the_key_and_saves_it_privately(world, live_server, api_key, isolated_config, capsys):
    key = api_key("member")
    assert main(["login", "--base-url", live_server.url + "/", "--key", key]) == 0
    assert "as member" in capsys.readouterr().out
    assert read_config() == {"base_url": live_server.url, "api_key": key}
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600

    assert main(["whoami", "--json"]) == 0  # the saved login is used
    assert json.loads(capsys.readouterr().out)["username"] == "member"

    assert main(["login", "--base-url", live_server.url, "--key", "reg-" + "n" * 40]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert read_config()["api_key"] == key  # a bad key is not saved


def test_login_prompts_for_a_hidden_key(world, live_server, api_key, isolated_config, monkeypatch, capsys):
    key = api_key("viewer")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": key)
    assert main(["login", "--base-url", live_server.url]) == 0
    assert read_config()["api_key"] == key


def test_upload_link_ls_get_search(world, cli, model_dir, tmp_path):
    code, out, err = cli(
        "member",
        "upload",
        str(model_dir),
        "--project",
        "vision/detector",
        "--name",
        "resnet",
        "--type",
        "model",
        "--metadata",
        '{"acc": 0.91}',
        "--json",
    )
    assert code == 0, err
    uploaded = json.loads(out)
    assert (uploaded["path"], uploaded["metadata"]) == ("vision/detector/resnet:v0", {"acc": 0.91})
    assert len(uploaded["uploaded"]) == 3  # the duplicate weights file is sent once
    assert {"README.md", "config/params.json"} < set(uploaded["uploaded"])

    code, out, err = cli(
        "member", "upload", str(model_dir), "--project", "vision/detector", "--name", "resnet", "--type", "model"
    )
    assert (code, out.strip()) == (0, "vision/detector/resnet:v1")
    assert "0 file(s) uploaded" in err

    code, out, err = cli("member", "link", "vision/detector/resnet:v0", f"{GOLDEN}/resnet", "--alias", "staging")
    assert (code, out.strip()) == (0, f"{GOLDEN}/resnet:v0"), err

    code, out, _ = cli("member", "ls", "acme")
    assert code == 0
    assert out.splitlines()[0].split()[:2] == ["REGISTRY", "VISIBILITY"]
    assert GOLDEN in out
    code, out, _ = cli("member", "ls", GOLDEN)
    assert code == 0 and f"{GOLDEN}/resnet" in out
    code, out, _ = cli("member", "ls", f"{GOLDEN}/resnet", "--json")
    (row,) = json.loads(out)
    assert (row["version"], row["aliases"]) == ("v0", ["latest", "staging"])
    code, out, _ = cli("member", "ls", f"{GOLDEN}/resnet:staging")
    assert code == 0 and "config/params.json" in out and "weights-copy.bin" in out

    code, out, _ = cli("member", "ls", "vision/detector", "--json")
    assert code == 0 and [v["path"] for v in json.loads(out)] == [
        "vision/detector/resnet:v1",
        "vision/detector/resnet:v0",
    ]
    code, out, _ = cli("member", "ls", "vision/detector/resnet", "--limit", "1")
    assert code == 0 and "vision/detector/resnet:v1" in out and "resnet:v0" not in out
    code, _, err = cli("viewer", "ls", "vision/detector")
    assert code == 1 and err.startswith("error: ")  # not in the team: the project is invisible

    code, out, err = cli("member", "get", f"{GOLDEN}/resnet:staging", "--root", str(tmp_path / "got"))
    assert (code, out.strip()) == (0, str(tmp_path / "got")), err
    assert (tmp_path / "got" / "weights.bin").read_bytes() == (model_dir / "weights.bin").read_bytes()

    code, out, err = cli(
        "member", "search", "--registries", '{"name": "Golden Models"}', "--versions", '{"alias": "staging"}', "--json"
    )
    assert code == 0, err
    assert [v["path"] for v in json.loads(out)] == [f"{GOLDEN}/resnet:v0"]


def test_errors_and_usage(world, cli, model_dir):
    world.link(aliases=["production"])
    code, out, err = cli("restricted_viewer", "get", f"{GOLDEN}/classifier:production")
    assert code == 1
    assert err.startswith("error: ") and "download" in err
    code, _, err = cli("outsider", "ls", f"{GOLDEN}/classifier")
    assert code == 1 and err.startswith("error: ")
    code, _, err = cli(
        "member",
        "upload",
        str(model_dir),
        "--project",
        "vision/detector",
        "--name",
        "x",
        "--type",
        "model",
        "--alias",
        "prod",
    )
    assert code == 2 and "--link" in err
    code, _, err = cli("member", "search", "--versions", "{not json")
    assert code == 2 and "not valid JSON" in err
    assert cli("member", "frobnicate")[0] == 2


def _run(argv, env):
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_exit_codes_as_a_subprocess(world, live_server, api_key, isolated_config, model_dir, tmp_path):
    world.link(aliases=["production"])
    env = {**os.environ, "REGISTRY_BASE_URL": live_server.url, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    script = Path(sys.executable).with_name("registry")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "registry_client"]

    done = _run(
        [*command, "get", f"{GOLDEN}/classifier:production", "--root", str(tmp_path / "dl")],
        {**env, "REGISTRY_API_KEY": api_key("viewer")},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dl" / "model.bin").read_bytes() == b"weights"

    done = _run(
        [sys.executable, "-m", "registry_client", "get", f"{GOLDEN}/classifier:production"],
        {**env, "REGISTRY_API_KEY": api_key("restricted_viewer")},
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")

    done = _run([*command, "ls", "acme"], {**env, "REGISTRY_API_KEY": "reg-" + "z" * 40})
    assert done.returncode == 1 and done.stderr.startswith("error: ")

    done = _run([*command, "upload"], env)
    assert done.returncode == 2 and "usage:" in done.stderr
