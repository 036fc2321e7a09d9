"""Shared test set-up: quiet TensorFlow, the repository paths tests refer to, and the guards of the `keras` and
`browser` marks.

Tests that need Keras carry `@pytest.mark.keras`; every test module imports without Keras, so a contributor
without TensorFlow runs the rest with `pytest -m "not keras"`. Without Keras, any run that selects a
Keras test stops after collection with how to proceed, instead of failing or skipping test by test.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
# the models the bundled specs hold, counted from their `model NAME:` lines: `rnnspec check specs/` reports each
BUNDLED_MODELS = sum(line.startswith("model ") for path in SPECS.glob("*.rnn")
                     for line in path.read_text().splitlines())

KERAS_MISSING = ("Keras is not installed: install it with pip install -e '.[keras,test]', "
                 'or run the Keras-free tests with pytest -m "not keras"')


def keras_installed() -> bool:
    """Found, not imported: a `-m "not keras"` run must not load TensorFlow just to ask."""
    return all(importlib.util.find_spec(name) is not None for name in ("keras", "tensorflow"))


def runs_tests(config: pytest.Config) -> bool:
    """Listing tests or fixtures runs none, and works without Keras."""
    return not (config.getoption("collectonly") or config.getoption("showfixtures")
                or config.getoption("show_fixtures_per_test"))


BROWSER_MISSING = ("Chromium is not installed: the `browser` tests render rnnspec's SVG in it; install it with "
                   "apt-get update && apt-get install -y chromium (as root), or deselect them with "
                   '-m "not browser"')


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once `-m` and the paths have chosen: without Keras, no Keras test may be left to fail one by one (every
    test module imports without Keras, so `pytest tests/test_parser.py` runs); likewise without Chromium for the
    `browser` tests (a silent skip would pass a drawing no browser ever opened)."""
    if (any(item.get_closest_marker("keras") for item in session.items) and runs_tests(session.config)
            and not keras_installed()):
        pytest.exit(KERAS_MISSING, returncode=pytest.ExitCode.USAGE_ERROR)
    if (any(item.get_closest_marker("browser") for item in session.items) and runs_tests(session.config)
            and shutil.which("chromium") is None):
        pytest.exit(BROWSER_MISSING, returncode=pytest.ExitCode.USAGE_ERROR)
