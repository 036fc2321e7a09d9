"""A checked model as a chain of NumPy kernels: inference with no TensorFlow, weights in Keras's order."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport, require_buildable
from rnnspec.layers.base import Weight

from rnnspec.backends.numpy import parallel
from rnnspec.backends.numpy.base import Array, Kernel, Mask, kernels, make_kernel


class NumpyModel:
    """`model(x)` and `model.predict(x, batch_size=...)` as Keras computes them at inference."""

    def __init__(self, report: ModelReport, seed: int | None = 0, dtype: str = "float32") -> None:
        kernels()
        if report.input is None or report.errors:
            raise RnnspecError("E501", f"model '{report.name}' did not check; fix its errors first", report.span)
        require_buildable(report)
        self.report = report
        self.source = report.source  # the spec text, kept so that save_npz can store it
        self.name = report.name
        self.dtype = np.dtype(dtype)
        self.layers: list[Kernel] = [make_kernel(r.node, r.input_shape, self.dtype) for r in report.rows]
        self.layer_names = [r.name for r in report.rows]
        self._key, self._version = parallel.new_key(), 0  # which weights the worker processes hold
        self._multiply_adds_per_step = sum(layer.multiply_adds_per_step() for layer in self.layers)
        self.reset_weights(seed)

    # ------------------------------------------------------------ weights

    def weight_specs(self) -> Iterator[tuple[str, Weight]]:
        """(layer name, weight) for every weight, in Keras's `model.get_weights()` order."""
        for name, layer in zip(self.layer_names, self.layers):
            for spec in layer.specs:
                yield name, spec

    def weight_names(self) -> list[str]:
        """`layer/weight` names; a repeated name within a layer (a Bidirectional's halves) gets its half."""
        names = []
        for name, layer in zip(self.layer_names, self.layers):
            half = getattr(layer, "split", 0)  # a Bidirectional's forward half: its halves may differ
            wrapper = layer.node.type_name == "Bidirectional"
            for i, spec in enumerate(layer.specs):
                part = ("forward/" if i < half else "backward/") if wrapper else ""
                names.append(f"{name}/{part}{spec.name}")
        return names

    def reset_weights(self, seed: int | None = 0) -> None:
        """Fresh weights drawn like Keras's default initialisers."""
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.load(layer.fresh(rng))
        self._version += 1

    def get_weights(self) -> list[Array]:
        return [p.copy() for layer in self.layers for p in layer.params]

    def set_weights(self, arrays: Sequence[Array]) -> None:
        """Weights in Keras's order and shapes; any mismatch names the layer and weight."""
        specs = list(self.weight_specs())
        names = self.weight_names()
        if len(arrays) != len(specs):
            raise RnnspecError("E501", f"model '{self.name}' has {len(specs)} weights, but {len(arrays)} were given",
                               hint=_first_difference(specs, names, arrays))
        for (layer, spec), name, array in zip(specs, names, arrays):
            if tuple(np.shape(array)) != spec.shape:
                raise RnnspecError("E501", f"weight {name} ({layer}) should have shape {spec.shape}, "
                                   f"found {tuple(np.shape(array))}", hint="weights go in Keras's order")
        position = 0
        for layer in self.layers:
            layer.load(list(arrays[position:position + len(layer.specs)]))
            position += len(layer.specs)
        self._version += 1

    def named_weights(self) -> dict[str, Array]:
        return dict(zip(self.weight_names(), self.get_weights()))

    # ------------------------------------------------------------ inference

    def _input(self, x: object) -> Array:
        spec = self.report.input
        assert spec is not None
        array = np.asarray(x)
        if spec.dtype.startswith(("int", "uint")):
            if not np.issubdtype(array.dtype, np.integer):
                raise RnnspecError("E501", f"model '{self.name}' takes integer ids, found {array.dtype} values")
        else:
            array = array.astype(self.dtype, copy=False)
        expected = spec.shape
        if array.ndim != len(expected) or any(e is not None and e != d for e, d in zip(expected[1:], array.shape[1:])):
            dims = ["None" if d is None else str(d) for d in expected]
            raise RnnspecError("E501", f"model '{self.name}' takes inputs of shape ({', '.join(dims)}), "
                               f"found {array.shape}",
                               hint=f"arrays are batch first: ({', '.join(['batch', *dims[1:]])})")
        return array

    def __call__(self, x: object, mask: Mask = None) -> Array:
        array = self._input(x)
        mask = None if mask is None else np.asarray(mask, bool)
        split = parallel.split_call(self._forward, self._key, self._version, self.layers, array, mask,
                                    self._multiply_adds_per_step)
        return self._forward(array, mask) if split is None else split

    def _forward(self, x: Array, mask: Mask) -> Array:
        return run_layers(self.layers, x, mask)

    def predict(self, x: object, batch_size: int = 32) -> Array:
        array = self._input(x)
        if len(array) <= batch_size:
            return self(array)
        return np.concatenate([self(array[i:i + batch_size]) for i in range(0, len(array), batch_size)])


def run_layers(layers: Sequence[Kernel], x: Array, mask: Mask) -> Array:
    """The model's inference on a batch (or, in a worker process, on part of one)."""
    for layer in layers:
        x, mask = layer.forward(x, mask)
    return x


def _first_difference(specs: list[tuple[str, Weight]], names: list[str], arrays: Sequence[Array]) -> str:
    for (layer, spec), name, array in zip(specs, names, arrays):
        if tuple(np.shape(array)) != spec.shape:
            return f"the first mismatch is {name}: expected {spec.shape}, found {tuple(np.shape(array))}"
    if len(arrays) < len(specs):
        return f"missing from {names[len(arrays)]} on"
    return f"{len(arrays) - len(specs)} extra array(s) after {names[-1] if names else 'the last weight'}"
