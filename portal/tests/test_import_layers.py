"""Imports run one way: portal above snapshots above hubs (pyproject.toml's
import-linter contract, checked by `make lint`; these tests run it in `make test` too)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120, check=False
    )


def copy_of_the_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree)
    for app in ("portal", "snapshots", "hubs"):
        shutil.copytree(ROOT / app, tree / app, ignore=shutil.ignore_patterns("__pycache__"))
    return tree


def test_the_apps_import_one_way():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("hubs/services/audit.py", "import portal.models\n"),
        ("hubs/models.py", "def later():\n    from snapshots import models\n"),
        ("snapshots/selectors.py", "from portal.api import base\n"),
    ],
)
def test_an_import_against_the_order_breaks_the_contract(tmp_path, module, line):
    tree = copy_of_the_tree(tmp_path)
    with (tree / module).open("a") as source:
        source.write("\n\n" + line)
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


def test_an_import_only_for_type_hints_is_not_a_dependency(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    with (tree / "hubs/services/audit.py").open("a") as source:
        source.write("\n\nif TYPE_CHECKING:\n    from portal.models import ApiToken\n")
    assert lint_imports(tree).returncode == 0


def import_cycles(app: str) -> list[tuple[str, ...]]:
    """Every module of ``app`` that reaches itself back through its imports
    (function-level ones included, TYPE_CHECKING ones not), with the chain."""
    graph = grimp.build_graph(app, exclude_type_checking_imports=True)
    cycles: list[tuple[str, ...]] = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append((module, *chain))
    return cycles


@pytest.mark.parametrize("app", ["hubs", "snapshots", "portal"])
def test_no_module_imports_itself_back(app):
    # Services that queue a task live apart from those the task calls (hubs'
    # notice outbox, the store's restore_jobs and restore_runs), so no task
    # module reaches back to itself.
    assert import_cycles(app) == []
