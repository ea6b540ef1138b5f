"""The layering in docs/architecture.md, enforced: which app may import which, and lib/ imports no app."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# app → the apps it may import (its own always). Lower layers never import higher ones.
ALLOWED = {
    "audit": set(),
    "orgs": {"audit"},
    "artifacts": {"orgs", "audit"},
    "registries": {"orgs", "artifacts", "audit"},
    "collections": {"registries", "artifacts", "orgs", "audit"},
    "automations": {"collections", "registries", "artifacts", "orgs", "audit"},
    # Faces for other clients sit above collections and call its services and querysets.
    "wandb_api": {"automations", "collections", "registries", "artifacts", "orgs", "audit"},
    "mlflow_api": {"automations", "collections", "registries", "artifacts", "orgs", "audit"},
    "legacy": {"automations", "collections", "registries", "artifacts", "orgs", "audit"},
    # Operations (probes, metrics, the worker's heartbeat, lockout audit) reads across the apps below it.
    "ops": {"automations", "collections", "registries", "artifacts", "orgs", "audit"},
    # The demo seeder uses everything.
    "demo": {"automations", "collections", "registries", "artifacts", "orgs", "audit", "legacy"},
}


def _imports(path: Path):
    """(imported module, line, inside a function?) for every import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    nested = {id(child) for fn in functions for child in ast.walk(fn) if child is not fn}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name, node.lineno, id(node) in nested


def _app_files():
    for path in sorted((ROOT / "apps").glob("*/**/*.py")):
        if "migrations" not in path.parts:
            yield path.relative_to(ROOT / "apps").parts[0], path


def test_every_app_is_placed_in_a_layer():
    apps = {path.name for path in (ROOT / "apps").iterdir() if (path / "apps.py").exists()}
    assert apps <= set(ALLOWED), f"add {sorted(apps - set(ALLOWED))} to ALLOWED and docs/architecture.md"


def test_apps_import_only_the_apps_below_them():
    wrong = []
    for app, path in _app_files():
        for name, line, _ in _imports(path):
            parts = name.split(".")
            if parts[0] == "apps" and len(parts) > 1 and parts[1] != app and parts[1] not in ALLOWED[app]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


def test_no_function_level_import_of_another_app():
    """A function-level import dodges a cycle; a cycle means a line is in the wrong app (apps.py's ready() excepted)."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for app, path in _app_files()
        if path.name != "apps.py"
        for name, line, in_function in _imports(path)
        if in_function and name.startswith("apps.") and name.split(".")[1] != app
    ]
    assert wrong == []


@pytest.mark.parametrize("path", sorted((ROOT / "lib").glob("*.py")), ids=lambda p: p.name)
def test_lib_imports_no_app_and_defines_no_model(path):
    names = [name for name, _, _ in _imports(path)]
    assert not [name for name in names if name.split(".")[0] in {"apps", "registry_site"}]
    assert "django.db.models" not in names or "class Meta" not in path.read_text()
