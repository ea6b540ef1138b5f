"""Unit tests of the client's pure parts: path parsing, config precedence, hashing and walking."""

import hashlib
import os
import stat
import sys

import pytest

from registry_client.config import config_path, read_config, resolve_settings, write_config
from registry_client.errors import InvalidInput
from registry_client.files import CHUNK, matches, safe_destination, sha256_file, walk
from registry_client.paths import RegistryPath, SourcePath, parse_browse_path, parse_version_path, version_index

# -- paths ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vision/detector/model-a:v3", SourcePath("vision", "detector", "model-a", "v3")),
        ("vision/detector/model-a", SourcePath("vision", "detector", "model-a", "latest")),
        (
            "acme/wandb-registry-Golden Models/classifier:production",
            RegistryPath("acme", "Golden Models", "classifier", "production"),
        ),
        ("wandb-registry-model/classifier:v0", RegistryPath(None, "model", "classifier", "v0")),
        ("wandb-registry-model/classifier", RegistryPath(None, "model", "classifier", "latest")),
        ("  acme/wandb-registry-a:b/c:latest ", None),
    ],
)
def test_parse_version_path(text, expected):
    if expected is None:
        with pytest.raises(InvalidInput):
            parse_version_path(text)
    else:
        assert parse_version_path(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "a/b", "a/b/c/d:v0", "team/project/:v1", "team/project/name:", "a/../b:v0", "team//name:v0"],
)
def test_parse_version_path_rejects_malformed(text):
    with pytest.raises(InvalidInput):
        parse_version_path(text)


def test_invalid_input_is_a_value_error():
    with pytest.raises(ValueError, match="expected <team>/<project>/<name>"):
        parse_version_path("just-a-name")


def test_registry_path_round_trips():
    path = parse_version_path("acme/wandb-registry-Golden Models/classifier:v2")
    assert str(path) == "acme/wandb-registry-Golden Models/classifier:v2"
    assert path.registry_path == "acme/wandb-registry-Golden Models"
    assert path.collection_path == "acme/wandb-registry-Golden Models/classifier"
    assert version_index(path.version) == 2
    assert version_index("production") is None
    assert str(parse_version_path("t/p/n")) == "t/p/n:latest"


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("acme", "org", "acme"),
        ("acme/wandb-registry-Golden Models", "registry", RegistryPath("acme", "Golden Models")),
        ("wandb-registry-Golden Models/", "registry", RegistryPath(None, "Golden Models")),
        ("acme/wandb-registry-model/clf", "collection", RegistryPath("acme", "model", "clf")),
        ("wandb-registry-model/clf:v1", "version", RegistryPath(None, "model", "clf", "v1")),
        ("vision/detector/model-a:latest", "version", SourcePath("vision", "detector", "model-a", "latest")),
        ("vision/detector", "project", ("vision", "detector", None)),
        ("vision/detector/model-a/", "project", ("vision", "detector", "model-a")),
    ],
)
def test_parse_browse_path(text, kind, target):
    assert parse_browse_path(text) == (kind, target)


@pytest.mark.parametrize("text", ["acme/wandb-registry-x:v0", "a/b/c/d", "", "vision/..", "vision/ detector"])
def test_parse_browse_path_rejects(text):
    with pytest.raises(InvalidInput):
        parse_browse_path(text)


# -- config -------------------------------------------------------------------------------------------------


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REGISTRY_BASE_URL", raising=False)
    monkeypatch.delenv("REGISTRY_API_KEY", raising=False)
    return tmp_path


def test_config_path_honours_xdg(config_home, monkeypatch):
    assert config_path() == config_home / "xdg" / "registry" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_path() == config_home / "home" / ".config" / "registry" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")  # the XDG spec says: ignore relative paths
    assert config_path() == config_home / "home" / ".config" / "registry" / "config.toml"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_write_config_is_private_and_round_trips(config_home):
    tricky = 'reg-"quoted"\\back\tslash'
    path = write_config("http://example.test:8000", tricky)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_config() == {"base_url": "http://example.test:8000", "api_key": tricky}


def test_precedence_argument_then_environment_then_file(config_home, monkeypatch):
    assert resolve_settings().base_url == "http://127.0.0.1:8000"
    assert resolve_settings().api_key is None

    write_config("http://file.test", "reg-file")
    settings = resolve_settings()
    assert (settings.base_url, settings.api_key) == ("http://file.test", "reg-file")
    assert settings.source == {"base_url": "config file", "api_key": "config file"}

    monkeypatch.setenv("REGISTRY_BASE_URL", "http://env.test/api/v1/")
    monkeypatch.setenv("REGISTRY_API_KEY", "reg-env")
    settings = resolve_settings()
    assert (settings.base_url, settings.api_key) == ("http://env.test", "reg-env")

    settings = resolve_settings("https://arg.test/", "reg-arg")
    assert (settings.base_url, settings.api_key) == ("https://arg.test", "reg-arg")
    assert settings.source == {"base_url": "argument", "api_key": "argument"}

    monkeypatch.delenv("REGISTRY_API_KEY")
    settings = resolve_settings()  # values are picked one by one
    assert (settings.base_url, settings.api_key) == ("http://env.test", "reg-file")


def test_bad_config_and_base_url_are_clear(config_home):
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("base_url = [unclosed")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        read_config()
    with pytest.raises(InvalidInput, match="must start with http"):
        resolve_settings("ftp://x", "reg-x")


# -- files --------------------------------------------------------------------------------------------------


def test_sha256_streams_in_chunks(tmp_path):
    data = os.urandom(CHUNK * 2 + 123)
    (tmp_path / "big.bin").write_bytes(data)
    seen = []
    assert sha256_file(tmp_path / "big.bin", seen.append) == hashlib.sha256(data).hexdigest()
    assert seen == [CHUNK, CHUNK, 123]


def test_walk_directory_and_single_file(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.txt").write_text("b")
    (tmp_path / "d" / "sub" / "a.txt").write_text("aa")
    (tmp_path / "d" / "a.txt").write_text("a")
    assert [(f.path, f.size) for f in walk(tmp_path / "d")] == [("a.txt", 1), ("b.txt", 1), ("sub/a.txt", 2)]
    assert [f.path for f in walk(tmp_path / "d" / "b.txt")] == ["b.txt"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="contains no files"):
        walk(tmp_path / "empty")
    with pytest.raises(InvalidInput, match="neither a file nor a directory"):
        walk(tmp_path / "missing")


@pytest.mark.parametrize("bad", ["../escape", "/etc/passwd", "a/../../b", "a\\..\\b", ""])
def test_safe_destination_refuses_escapes(tmp_path, bad):
    with pytest.raises(InvalidInput, match="unsafe path"):
        safe_destination(tmp_path, bad)


def test_safe_destination_and_matches(tmp_path):
    dest = safe_destination(tmp_path, "sub/file.txt")
    assert dest == tmp_path / "sub" / "file.txt"
    assert not matches(dest, 2, hashlib.sha256(b"hi").hexdigest())
    dest.parent.mkdir()
    dest.write_bytes(b"hi")
    assert matches(dest, 2, hashlib.sha256(b"hi").hexdigest())
    assert not matches(dest, 3, hashlib.sha256(b"hi").hexdigest())
    assert not matches(dest, 2, hashlib.sha256(b"ho").hexdigest())
