"""The built wheel ships the console: ``pip install ruleplus && ruleplus serve`` has it without
Node. Built here with the environment's setuptools (no network, no build isolation)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ruleplus.service.console import BUNDLE_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contains_the_console_bundle(tmp_path: Path) -> None:
    if not (BUNDLE_DIR / "index.html").is_file():
        pytest.fail("the console bundle is not built: run `make console` (make test does)")
    built = set(p.name for p in (BUNDLE_DIR / "assets").iterdir())
    # from a copy: setuptools reuses an in-tree build/ folder, stale bundles included
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", tree / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(tmp_path),
            str(tree),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ruleplus-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "ruleplus/console_bundle/index.html" in names
    shipped = {
        n.rsplit("/", 1)[1] for n in names if n.startswith("ruleplus/console_bundle/assets/")
    }
    assert shipped == built
    assert any(n.endswith(".js") for n in shipped) and any(n.endswith(".css") for n in shipped)
    # the sources and npm's packages stay out of it
    assert not any("node_modules" in n or n.endswith(".tsx") for n in names)
