"""`make run` writes `.env`; `manage.py` commands typed by hand read it, and the environment wins over it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from registry_site.settings import read_env_file

ROOT = Path(__file__).resolve().parents[1]
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.ENABLE_REGISTRY_UI, s.SECRET_KEY == 'from-env')"
)


def _run(args: list[str], env_file: Path, **extra: str) -> subprocess.CompletedProcess:
    """A process as a user's shell starts it: none of the test run's settings variables, only `extra`."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "ENABLE_REGISTRY_UI"}
    }
    env |= {"DJANGO_SETTINGS_MODULE": "registry_site.settings", "REGISTRY_ENV_FILE": str(env_file), **extra}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_env_file_lines_are_read_skipping_comments_and_blanks(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# written by make run\n\nDEBUG=true\n  ENABLE_REGISTRY_UI = false  \nEMPTY=\nURL=a=b\n")
    assert read_env_file(path) == {"DEBUG": "true", "ENABLE_REGISTRY_UI": "false", "EMPTY": "", "URL": "a=b"}
    assert read_env_file(tmp_path / "missing") == {}


@pytest.mark.parametrize("line", ["DEBUG", "export DEBUG=true", "=true", "NOT A NAME=1"])
def test_a_malformed_env_file_line_fails_loudly(tmp_path, line):
    path = tmp_path / ".env"
    path.write_text(f"DEBUG=true\n{line}\n")
    with pytest.raises(ImproperlyConfigured, match="line 2"):
        read_env_file(path)


def test_manage_py_commands_work_as_written_after_make_run_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    # Before `make run`: no .env, no DEBUG: the README's `manage.py create_api_key` fails.
    before = _run(["manage.py", "create_api_key", "--help"], env_file)
    assert before.returncode != 0
    assert "set SECRET_KEY" in before.stderr
    # What `make run` writes: the Makefile's own recipe, run by make.
    make = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), ".env"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert make.returncode == 0, make.stderr
    assert read_env_file(env_file) == {"DEBUG": "true"}
    env_file.write_text(env_file.read_text() + "ENABLE_REGISTRY_UI=false\n")
    after = _run(["manage.py", "create_api_key", "--help"], env_file)
    assert after.returncode == 0, after.stderr
    assert "create_api_key" in after.stdout
    # A variable set in the environment wins over the file.
    overridden = _run(
        ["-c", PRINT_SETTINGS],
        env_file,
        DEBUG="false",
        SECRET_KEY="from-env",
        ALLOWED_HOSTS="x",
        ENABLE_REGISTRY_UI="true",
    )
    assert overridden.stdout.split() == ["False", "True", "True"], overridden.stderr
