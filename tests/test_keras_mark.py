"""The `keras` mark keeps its promise: without Keras, `-m "not keras"` runs and never imports it, and a run that
would select a Keras test stops, after collection, with how to proceed (issue 9). Each case runs pytest in a subprocess in
which importing keras or tensorflow fails, as on a machine that lacks them; test_unparse holds both kinds."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import KERAS_MISSING, ROOT

# `None` in sys.modules makes `import keras` raise ImportError and `find_spec("keras")` answer None
WITHOUT_KERAS = """
import sys
sys.modules["keras"] = sys.modules["tensorflow"] = None
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def pytest_without_keras(tmp_path: Path, *args: str, module: str = "tests/test_unparse.py"
                         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_KERAS, "-q", "-p", "no:cacheprovider",
                           "--basetemp", str(tmp_path / "basetemp"), *args, module],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_not_keras_runs_the_rest_without_importing_keras(tmp_path: Path) -> None:
    proc = pytest_without_keras(tmp_path, "-m", "not keras")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\d+ passed, \d+ deselected in", proc.stdout) and "skipped" not in proc.stdout, proc.stdout


def test_a_run_that_would_need_keras_stops_saying_how_to_go_on(tmp_path: Path) -> None:
    for marks in ([], ["-m", "keras"]):
        proc = pytest_without_keras(tmp_path, *marks)
        assert proc.returncode == 4, (marks, proc.stdout + proc.stderr)
        assert KERAS_MISSING in proc.stdout + proc.stderr, (marks, proc.stdout + proc.stderr)


def test_a_module_without_keras_tests_runs_without_the_mark(tmp_path: Path) -> None:
    proc = pytest_without_keras(tmp_path, module="tests/test_resolve.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\d+ passed in", proc.stdout), proc.stdout
