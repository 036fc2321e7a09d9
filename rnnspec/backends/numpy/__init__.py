"""The NumPy backend: inference with no TensorFlow, weights exchangeable with Keras."""
from __future__ import annotations

from typing import Any

from rnnspec.infer import ModelReport


def build(report: ModelReport, seed: int | None = 0, dtype: str = "float32", **_: Any) -> "NumpyModel":
    from rnnspec.backends.numpy.model import NumpyModel

    return NumpyModel(report, seed=seed, dtype=dtype)


__all__ = ["build"]
