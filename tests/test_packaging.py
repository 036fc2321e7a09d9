"""The wheel ships the grammar inside the package, so an installed rnnspec works outside a checkout."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import ROOT


def test_wheel_contains_package_grammar_and_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("rnnspec-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        grammar = archive.read("rnnspec/grammars/rnnspec.lark").decode()
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert grammar == (ROOT / "grammars" / "rnnspec.lark").read_text()
    assert {"rnnspec/cli.py", "rnnspec/layers/recurrent.py"} <= names
    assert "rnnspec = rnnspec.cli:main" in entry_points
