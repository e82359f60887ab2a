"""The layers' import contracts (``[tool.importlinter]`` in pyproject.toml, run by ``make lint``)
hold on the tree, and each one breaks when an import that crosses it is planted.

A contract that cannot fail protects nothing, so each is shown failing: the four packages are
copied to a temporary directory (as ``src/gameday/<package>``, the layout they import as), one
import is planted in the copy (at module level, or inside a
function as the CLI's lazy imports are), and ``lint-imports`` is run on the copy with the
project's own configuration. The working tree is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("harness", "analysis", "sandbox", "contract")


def _contracts() -> dict[str, str]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in cfg["contracts"]}


def lint_imports(tree: Path) -> tuple[int, dict[str, str]]:
    """Run lint-imports on ``tree`` (its ``src`` first on sys.path): exit code, contract name -> KEPT/BROKEN."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "COLUMNS": "400", "NO_COLOR": "1"}
    proc = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(tree / "pyproject.toml")],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout + proc.stderr
    status = {m[1].strip(): m[2] for m in re.finditer(r"^(.+?) (KEPT|BROKEN)$", out, re.MULTILINE)}
    assert status, f"no contract reported (exit {proc.returncode}):\n{out[-3000:]}"
    return proc.returncode, status


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the four packages (sources only, under src/gameday) and pyproject.toml."""
    dst = tmp_path_factory.mktemp("layers")
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dst / "src" / "gameday" / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "src" / "gameday" / "__init__.py", dst / "src" / "gameday" / "__init__.py")
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    return dst


def test_the_tree_keeps_every_contract() -> None:
    code, status = lint_imports(ROOT)
    assert status == {name: "KEPT" for name in _contracts().values()}
    assert code == 0


PLANTED = [
    ("harness-not-sandbox", "harness/_planted.py", "import gameday.sandbox.procs\n"),
    ("harness-not-sandbox", "harness/commands/_planted.py",
     "def later() -> None:\n    from gameday.sandbox import cli  # lazy, still a dependency\n"),
    ("analysis-alone", "analysis/_planted.py", "from gameday.harness.errors import BadInput\n"),
    ("analysis-alone", "analysis/render/_planted.py", "import gameday.sandbox\n"),
    ("contract-neutral", "contract/_planted.py",
     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gameday.analysis.errors import NotARun\n"),
    ("sandbox-is-the-target", "sandbox/_planted.py", "from gameday.contract import rundir\n"),
]


@pytest.mark.parametrize(("contract", "where", "code"), PLANTED, ids=[f"{c}:{w}" for c, w, _ in PLANTED])
def test_a_planted_import_breaks_its_contract(tree: Path, contract: str, where: str, code: str) -> None:
    names = _contracts()
    planted = tree / "src" / "gameday" / where
    planted.write_text(code)
    try:
        exit_code, status = lint_imports(tree)
    finally:
        planted.unlink()
    assert exit_code == 1
    assert status == {name: ("BROKEN" if cid == contract else "KEPT") for cid, name in names.items()}
    # and without the planted file, the copy keeps them all again
    exit_code, status = lint_imports(tree)
    assert (exit_code, set(status.values())) == (0, {"KEPT"})
