"""What ``gameday init`` writes travels with an installed gameday: every starter file is matched by a
``[tool.setuptools.data-files]`` glob of pyproject.toml, under the share/gameday folder the starter reads."""

from __future__ import annotations

import tomllib
from pathlib import Path

from gameday.harness.starter import STARTER

ROOT = Path(__file__).resolve().parents[2]


def test_every_starter_file_is_installed_as_data() -> None:
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    installed = {ROOT / p for globs in data_files.values() for g in globs for p in ROOT.glob(g)}
    for folder, pattern in STARTER:
        files = sorted((ROOT / folder).glob(pattern))
        assert files, (folder, pattern)
        for f in files:
            assert f in installed, f"{f.relative_to(ROOT)} is not in [tool.setuptools.data-files]"
            assert any(f in {ROOT / p for g in globs for p in ROOT.glob(g)}
                       for dest, globs in data_files.items() if dest == f"share/gameday/{folder}"), f
