"""One import name: gameday. What is installed is ``gameday`` and nothing else (no ``harness`` or
``analysis`` to collide with another distribution's), every module reference in the repository
names the one package, and an experiment written with the old names keeps running under the new."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tokenize
import warnings
from pathlib import Path

import pytest

from gameday.harness.chaos import experiment as xp
from tests.helpers import ROOT

OLD = ("harness", "analysis", "contract", "sandbox")


def _submodules(pkg: str) -> list[str]:
    """The modules and subpackages directly under one of the four directories."""
    return sorted({p.stem for p in (ROOT / pkg).iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
                  - {"__pycache__"}, key=len, reverse=True)


# a module reference by an old top-level name: harness.cli, sandbox.chaos.actions, `-m sandbox`;
# not a path (harness/cli.py), a profile key (target.sandbox.ports) or a file (sandbox.yaml)
OLD_REFERENCE = re.compile("|".join(
    [rf"(?<![\w./\-]){p}\.(?:{'|'.join(map(re.escape, _submodules(p)))})\b" for p in OLD]
    + [rf"^\s*(?:from|import) {p}\b" for p in OLD] + [rf"-m\s+{p}\b" for p in OLD]
    + [rf'"-m",\s*"{p}\b' for p in OLD]), re.MULTILINE)


def test_the_distribution_installs_one_top_level_package() -> None:
    from setuptools import find_packages  # 0.6 s to import: not at collection

    packages = find_packages(where=str(ROOT / "src"))
    assert packages and {p.split(".")[0] for p in packages} == {"gameday"}
    for layer in OLD:
        assert f"gameday.{layer}" in packages
        assert (ROOT / "src" / "gameday" / layer).resolve() == (ROOT / layer).resolve()


# these name the old modules on purpose: the rewrite of an old experiment, its documentation, this test
ON_PURPOSE = ("harness/chaos/experiment.py", "docs/install.md", "tests/unit/test_package_names.py")


def _searched(path: Path, text: str) -> str:
    """What may hold a module reference: all of a text file; of Python, its imports, strings and
    comments (not code: a variable named ``sandbox`` may well have an attribute ``prometheus``)."""
    if path.suffix != ".py":
        return text
    kept = [line for line in text.splitlines() if re.match(r"\s*(from|import) ", line)]
    kept += [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
             if t.type in (tokenize.STRING, tokenize.COMMENT)]
    return "\n".join(kept)


def test_no_file_names_a_module_by_its_old_top_level_name() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for rel in tracked:
        path = ROOT / rel
        if rel.startswith(("baselines/", "runs/")) or path.is_symlink() or not path.is_file():
            continue
        if path.suffix not in {".py", ".json", ".yaml", ".yml", ".toml", ".md", ".cfg", ".sh", ""}:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{rel}: {m.group(0).strip()}" for m in OLD_REFERENCE.finditer(_searched(path, text))]
    assert [f for f in found if not f.startswith(ON_PURPOSE)] == []


@pytest.mark.parametrize("old", ["harness.chaosext.sla", "sandbox.chaos.actions"])
def test_an_experiment_with_an_old_module_name_is_read_as_the_new(tmp_path: Path, old: str) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({
        "title": "t", "description": "d",
        "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": old, "func": "f"}}],
        "configuration": {"x": {"type": "probe", "provider": {"type": "python", "module": old, "func": "g"}}},
        "rollbacks": [{"type": "action", "name": "b", "provider": {"type": "process", "path": "harness.cli"}},
                      {"type": "probe", "name": "c", "provider": {"type": "python", "module": "analysis.probes",
                                                                  "func": "h"}}]}))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        data = xp.load(path)
    assert {a.module for a in xp.activities(data)} == {f"gameday.{old}", "", "analysis.probes"}
    assert xp.modules(data) == {f"gameday.{old}", "", "analysis.probes"}
    assert data["rollbacks"][0]["provider"]["path"] == "harness.cli"  # not a Python provider: left as it is
    # a team's own module with a generic name is theirs, not one of gameday's old ones: left as it is
    assert len(seen) == 1 and issubclass(seen[0].category, xp.RenamedModule)  # one warning per file
    assert f"{path}: provider modules named as before" in str(seen[0].message)
    assert f"({old} -> gameday.{old})" in str(seen[0].message)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        assert xp.modules(xp.load(path)) == {f"gameday.{old}", "", "analysis.probes"}  # renamed, not warned again
    assert again == []


def test_the_command_line_prints_gamedays_warnings_as_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from gameday.harness import cli
    from gameday.harness.errors import GamedayWarning

    cli._show_warning(GamedayWarning("x.json: renamed"), GamedayWarning, "/some/file.py", 3)
    assert capsys.readouterr().err == "gameday: warning: x.json: renamed\n"
