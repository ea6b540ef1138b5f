"""The web server keeps freed megabyte buffers for reuse (registry_site.malloc)."""

import subprocess
import sys
from pathlib import Path

import pytest

from registry_site.malloc import keep_freed_buffers

ROOT = Path(__file__).resolve().parents[2]

# What gunicorn's body reader does for each 1 MiB an upload reads: gather pieces, copy out, keep the rest.
# Prints the minor page faults of 300 such reads.
PATTERN = """
import io, os, resource, sys
from registry_site.malloc import keep_freed_buffers
print(keep_freed_buffers() if sys.argv[1] == "tuned" else None)
piece = os.urandom(200_000)
def read_one_mib():
    gathered = io.BytesIO()
    for _ in range(6):
        gathered.write(piece)
    data = gathered.getvalue()
    rest = io.BytesIO()
    rest.write(data[1 << 20 :])
    return data[: 1 << 20]
for _ in range(20):
    read_one_mib()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(300):
    read_one_mib()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str, env: dict | None = None) -> tuple[str, int]:
    run = subprocess.run(
        [sys.executable, "-c", PATTERN, mode], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    )
    applied, faults = run.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_buffers_are_reused_instead_of_faulted_in_again():
    applied, tuned = _faults("tuned", env={"PATH": "/usr/bin:/bin"})
    _, plain = _faults("plain", env={"PATH": "/usr/bin:/bin"})
    assert applied == "True"
    # Untuned, this glibc faults ~590 pages back in for every MiB read (177,300 for the 300 reads).
    assert tuned < 300, f"{tuned} page faults with the tuning, {plain} without"


def test_an_operators_malloc_settings_win(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert keep_freed_buffers() is False
