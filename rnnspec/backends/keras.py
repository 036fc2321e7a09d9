"""The Keras backend: a checked model becomes a built `keras.Sequential` with the same rows.

Layer names are the ones rnnspec inferred, so `model.summary()` matches `rnnspec summary` row for row.
This is the only module that imports Keras.
"""
from __future__ import annotations

from typing import Any

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport
from rnnspec.layers.base import LayerNode


def _keras() -> Any:
    try:
        import keras
    except ImportError as err:
        raise RnnspecError("E501", f"the Keras backend needs Keras ({err})",
                           hint="install it with: pip install 'rnnspec[keras]'") from None
    return keras


def keras_layer(node: LayerNode, name: str | None = None) -> Any:
    """`keras.layers.<Type>(**arguments)`; layers given as arguments (wrappers) are built first."""
    keras = _keras()
    kwargs = {key: keras_layer(value) if isinstance(value, LayerNode) else value
              for key, value in node.kind.keras_kwargs(node.args).items()}
    if name is not None:
        kwargs["name"] = name
    return getattr(keras.layers, node.type_name)(**kwargs)


def build(report: ModelReport) -> Any:
    """A built Keras model for a checked report (its input, then one Keras layer per row)."""
    keras = _keras()
    assert report.input is not None, "build() takes a report that checked without errors"
    inputs = keras.Input(shape=report.input.shape[1:], batch_size=report.input.shape[0], dtype=report.input.dtype)
    layers = [keras_layer(row.node, row.name) for row in report.rows]
    try:
        return keras.Sequential([inputs, *layers], name=report.name)
    except Exception as err:  # Keras refusing a model rnnspec accepted is a bug worth a clear report
        raise RnnspecError("E501", f"Keras could not build model '{report.name}': {err}", report.span) from None
