"""A checked model as a chain of NumPy kernels: inference with no TensorFlow, weights in Keras's order.

A model's kernels (the layers and their prepared weights) are one immutable snapshot: `set_weights` and
`reset_weights` build and prepare new kernels off to the side and swap them in with one assignment, and a call
reads `self.layers` once. A call that runs while the weights change therefore computes with the old weights or
with the new, never with a mix.
"""
from __future__ import annotations

import math
from typing import Iterator, NamedTuple, Sequence

import numpy as np

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport, require_allocatable, require_buildable
from rnnspec.layers.base import Tensor, Weight
from rnnspec.shape import format_shape

from rnnspec.backends.numpy.base import Array, Kernel, Mask, blas_threads, kernels, make_kernel
from rnnspec.backends.numpy.network import network_plan, run_network

Layers = tuple[Kernel, ...]
CHECKED_SHAPES = 64  # input shapes whose checks a model remembers (predict's slices repeat a few shapes)


class Plan(NamedTuple):
    """What a model does with an input of one shape, found once per shape."""

    output_shape: tuple[int, ...]
    largest_product: int  # multiply-adds of its largest repeated matrix product (see base.blas_threads)


def float_dtype(dtype: object) -> np.dtype:
    """The model's dtype: a NumPy float type, refused otherwise (integer arithmetic would truncate every layer)."""
    try:
        resolved = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        resolved = None
    if dtype is None or resolved is None or resolved.kind != "f":
        raise RnnspecError("E501", f"the NumPy backend computes in a float type; dtype={dtype!r} is not one",
                           hint="dtype='float32' (Keras's default), 'float64' or 'float16'")
    return resolved


class NumpyModel:
    """`model(x)` and `model.predict(x, batch_size=...)` as Keras computes them at inference."""

    def __init__(self, report: ModelReport, seed: int | None = 0, dtype: str = "float32") -> None:
        self._build(report, dtype)
        self.reset_weights(seed)

    def _build(self, report: ModelReport, dtype: object) -> None:
        """Everything but the weights, refusing what cannot be built before any weight is drawn."""
        self.dtype = float_dtype(dtype)
        kernels()
        if report.input is None or report.errors:
            raise RnnspecError("E501", f"model '{report.name}' did not check; fix its errors first", report.span)
        require_buildable(report)
        self.report = report
        self.source = report.source  # the spec text, kept so that save_npz can store it
        self.name = report.name
        self.layer_names = [r.name for r in report.rows]
        self._plans: dict[tuple[int, ...], Plan] = {}  # by input shape
        self.layers: Layers = self._unloaded()
        self._require_weights_fit()

    def __reduce__(self) -> tuple:
        """Copied and pickled as its report, dtype and weights: a copy rebuilds its own kernels."""
        return _restored, (self.report, self.dtype.name, self.get_weights())

    def _unloaded(self) -> Layers:
        layers = tuple(make_kernel(r.node, r.input_shape, self.dtype) for r in self.report.rows)
        for layer, row in zip(layers, self.report.rows):
            if row.node.kind.several_as_arguments:  # weights built from every tensor of the call (MultiHeadAttention)
                layer.specs = list(row.weights)
        return layers

    def _require_weights_fit(self) -> None:
        sizes = [(sum(spec.size for spec in layer.specs), row) for layer, row in zip(self.layers, self.report.rows)]
        largest, row = max(sizes, key=lambda pair: pair[0], default=(0, None))
        hint = None if row is None else (f"{row.type} '{row.name}' holds {largest:,} of them; `rnnspec check` "
                                         "counts a model of any size without building it")
        require_allocatable(sum(size for size, _ in sizes) * self.dtype.itemsize,
                            f"the {sum(size for size, _ in sizes):,} weights of model '{self.name}' "
                            f"({self.dtype.name})", self.report.span, hint)

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
        self._swap_in([layer.fresh(rng) for layer in self._unloaded()])

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
        per_layer, position = [], 0
        for layer in self.layers:
            per_layer.append(list(arrays[position:position + len(layer.specs)]))
            position += len(layer.specs)
        self._swap_in(per_layer)

    def _swap_in(self, per_layer: list[list[Array]]) -> None:
        """New kernels loaded and prepared aside, then made current by one assignment (see the module's note)."""
        layers = self._unloaded()
        for layer, arrays in zip(layers, per_layer):
            layer.load(arrays)
        # a stateful layer's batch is fixed (the checker refused it unknown); new kernels start from zero states
        self.stateful_batch = next((layer.input_shape[0] for layer in layers if layer.stateful), None)
        self.layers = layers

    def reset_states(self) -> None:
        """Zero the states every stateful layer carries from call to call (Keras 3: `layer.reset_states()` on
        each). New weights (set_weights, reset_weights) start from zeros too."""
        for layer in self.layers:
            layer.reset_states()

    def _require_stateful_batch(self, rows: int, batch_size: int | None = None) -> None:
        """A stateful model takes batches of exactly its fixed size, in predict's every slice too (E501)."""
        fixed = self.stateful_batch
        slices = [rows] if batch_size is None else [min(batch_size, rows - i) for i in range(0, rows, batch_size)]
        wrong = next((n for n in slices if n != fixed), None)
        if wrong is not None:
            how = "a batch" if batch_size is None else f"a slice (predict's batch_size={batch_size}, {rows} rows)"
            raise RnnspecError("E501", f"model '{self.name}' is stateful with a fixed batch of {fixed} rows; "
                               f"{how} has {wrong}", self.report.span,
                               f"its stateful layers keep one state per row: give {fixed} rows at a time "
                               f"(predict(x, batch_size={fixed}) with a multiple of {fixed} rows)")

    def named_weights(self) -> dict[str, Array]:
        return dict(zip(self.weight_names(), self.get_weights()))

    # ------------------------------------------------------------ inference

    def __call__(self, x: object, mask: Mask = None) -> Array | list[Array]:
        """The model on a batch. A functional model takes one array per input (a list in the model's order, or a
        dict by input name) and gives one per output (a list where there are several), as Keras does."""
        layers = self.layers  # this call's weights, whatever set_weights does meanwhile
        network = self.report.network
        if network is not None:
            if mask is not None:
                raise RnnspecError("E501", f"model '{self.name}' is functional: a mask is one of its inputs",
                                   hint="declare it in the spec, as in m = Input(20, dtype=bool), and pass mask=m")
            arrays = self._inputs(x)
            if self.stateful_batch is not None:
                self._require_stateful_batch(len(arrays[0]))
            outputs, largest = self._network_plan(layers, arrays)
            with blas_threads(largest):
                return _one_or_list(run_network(layers, network, arrays))
        array = self._input(x)
        mask = self._mask(mask, array)
        if self.stateful_batch is not None:
            self._require_stateful_batch(len(array))
        with blas_threads(self._plan(layers, array.shape).largest_product):
            return run_layers(layers, array, mask)

    def predict(self, x: object, batch_size: int = 32) -> Array:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise RnnspecError("E501", f"batch_size must be a whole number of at least 1, found {batch_size!r}",
                               hint="predict(x, batch_size=32) runs x in slices of 32 rows")
        layers = self.layers
        if self.report.network is not None:
            return self._predict_network(layers, x, batch_size)
        array = self._input(x)
        if self.stateful_batch is not None:  # Keras carries the states from slice to slice, in order
            self._require_stateful_batch(len(array), batch_size)
        plan = self._plan(layers, array[:batch_size].shape)
        whole = (len(array), *plan.output_shape[1:])
        require_allocatable(math.prod(whole) * self.dtype.itemsize,
                            f"the output of model '{self.name}' {format_shape(whole)}", self.report.span,
                            "predict fewer rows at a time")
        with blas_threads(plan.largest_product):
            if len(array) <= batch_size:
                return run_layers(layers, array, None)
            return np.concatenate([run_layers(layers, array[i:i + batch_size], None)
                                   for i in range(0, len(array), batch_size)])

    def _predict_network(self, layers: Layers, x: object, batch_size: int) -> Array | list[Array]:
        network = self.report.network
        arrays = self._inputs(x)
        rows = len(arrays[0])
        if any(len(a) != rows for a in arrays):
            raise RnnspecError("E501", f"model '{self.name}' was given inputs of {sorted({len(a) for a in arrays})} "
                               "rows; every input needs the same number", hint="one row per sample in every input")
        if self.stateful_batch is not None:
            self._require_stateful_batch(rows, batch_size)
        shapes, largest = self._network_plan(layers, [a[:batch_size] for a in arrays])
        for shape in shapes:
            whole = (rows, *shape[1:])
            require_allocatable(math.prod(whole) * self.dtype.itemsize,  # type: ignore[arg-type]
                                f"the output of model '{self.name}' {format_shape(whole)}", self.report.span,
                                "predict fewer rows at a time")
        with blas_threads(largest):
            parts = [run_network(layers, network, [a[i:i + batch_size] for a in arrays])
                     for i in range(0, rows, batch_size)]
        return _one_or_list([np.concatenate(outputs) if len(outputs) > 1 else outputs[0]
                             for outputs in zip(*parts)])

    def _inputs(self, x: object) -> list[Array]:
        """One array per input of a functional model: a list or tuple in the model's order, a dict by input name,
        or one array for a model of one input."""
        specs = self.report.inputs
        names = [name for name, _ in specs]
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            extra = [str(k) for k in x if k not in names]
            if missing or extra:
                raise RnnspecError("E501", f"model '{self.name}' takes the inputs {', '.join(names)}; "
                                   + (f"missing: {', '.join(missing)}" if missing else f"unknown: {', '.join(extra)}"))
            given = [x[n] for n in names]
        elif isinstance(x, (list, tuple)) and len(specs) > 1:
            given = list(x)
        elif len(specs) == 1:
            given = [x]
        else:
            raise RnnspecError("E501", f"model '{self.name}' takes {len(specs)} inputs ({', '.join(names)})",
                               hint="give a list of arrays in that order, or a dict by name")
        if len(given) != len(specs):
            raise RnnspecError("E501", f"model '{self.name}' takes {len(specs)} inputs ({', '.join(names)}), "
                               f"found {len(given)}", hint="give one array per input, in that order")
        return [self._input(array, spec, name) for array, (name, spec) in zip(given, specs)]

    def _network_plan(self, layers: Layers, arrays: list[Array]) -> tuple[list[tuple[int, ...]], int]:
        shapes = tuple(a.shape for a in arrays)
        known = self._plans.get(shapes)  # type: ignore[call-overload]
        if known is not None:
            return known  # type: ignore[return-value]
        plan = network_plan(layers, self.report.network, list(shapes), [spec.dtype for _, spec in self.report.inputs],
                            self.dtype.itemsize)
        if len(self._plans) >= CHECKED_SHAPES:
            self._plans.clear()
        self._plans[shapes] = plan  # type: ignore[index]
        return plan

    def _input(self, x: object, spec: Tensor | None = None, name: str | None = None) -> Array:
        spec = spec or self.report.input
        assert spec is not None
        who = f"model '{self.name}'" if name is None else f"input '{name}' of model '{self.name}'"
        try:
            array = np.asarray(x)
        except ValueError as err:  # ragged nested lists
            raise RnnspecError("E501", f"{who} takes an array of numbers; {err}") from None
        integer_input = spec.dtype.startswith(("int", "uint"))
        if array.dtype.kind not in ("iu" if integer_input else "biuf"):
            raise RnnspecError("E501", f"{who} takes {'integer ids' if integer_input else 'numbers'}, "
                               f"found {array.dtype} values")
        expected = spec.shape
        if array.ndim != len(expected) or any(e is not None and e != d for e, d in zip(expected[1:], array.shape[1:])):
            dims = ["None" if d is None else str(d) for d in expected]
            raise RnnspecError("E501", f"{who} takes inputs of shape ({', '.join(dims)}), "
                               f"found {array.shape}",
                               hint=f"arrays are batch first: ({', '.join(['batch', *dims[1:]])})")
        if not len(array):
            raise RnnspecError("E501", f"{who} was given an empty batch {array.shape}",
                               hint="give at least one row (Keras's predict fails on an empty batch too)")
        if integer_input:
            return self._ids(array, np.dtype(spec.dtype))
        return array.astype(self.dtype, copy=False)

    def _ids(self, array: Array, dtype: np.dtype) -> Array:
        """Integer input in the Input's integer type; values it cannot hold are refused, not wrapped around."""
        limits = np.iinfo(dtype)
        if array.dtype != dtype and array.size:
            low, high = int(array.min()), int(array.max())
            if low < limits.min or high > limits.max:
                bad = low if low < limits.min else high
                where = tuple(int(i) for i in np.argwhere(array == bad)[0])
                raise RnnspecError("E501", f"model '{self.name}' takes {dtype} ids, in {limits.min:,}..{limits.max:,}; "
                                   f"found {bad:,} at {where}", hint=f"ids past the {dtype} range are not ids of "
                                   "this model (Keras would wrap them around silently)")
        return array.astype(dtype, copy=False)

    @staticmethod
    def _mask(mask: object, x: Array) -> Mask:
        if mask is None:
            return None
        array = np.asarray(mask)
        if x.ndim < 2 or array.shape != x.shape[:2] or array.dtype.kind not in "biu":
            raise RnnspecError("E501", f"a mask is (batch, steps) booleans, here {format_shape(x.shape[:2])}; "
                               f"found {array.dtype} values of shape {format_shape(array.shape)}",
                               hint="True where a step is real, False where it is padding")
        return array.astype(bool, copy=False)

    def _plan(self, layers: Layers, shape: tuple[int, ...]) -> Plan:
        """Each layer checked on an input of `shape` (batch and lengths known) as the checker did with unknown
        dimensions: a window that leaves no steps, a recurrent layer given none, or an array past the allocation
        limit is refused here, located at its layer."""
        known = self._plans.get(shape)
        if known is not None:
            return known
        assert self.report.input is not None
        tensor, largest = self.report.input._replace(shape=shape), 0
        for layer, row in zip(layers, self.report.rows):
            current = tensor.shape
            try:
                tensor = row.node.kind.output(row.node.args, tensor)
            except RnnspecError as err:
                raise RnnspecError("E501", f"on an input of shape {format_shape(shape)}: {err.message}",
                                   row.node.span, err.hint) from None
            if layer.lacks_steps(current):
                source = "" if current == shape else f" from an input of shape {format_shape(shape)}"
                raise RnnspecError("E501", f"{row.type} '{row.name}' needs at least one step (Keras fails without "
                                   f"one); it receives {format_shape(current)}{source}", row.node.span,
                                   "give sequences long enough to leave a step after every layer")
            require_allocatable(layer.largest_array(current, tensor.shape) * self.dtype.itemsize,
                                f"{row.type} '{row.name}' on a batch of {format_shape(current)}", row.node.span,
                                "predict fewer rows at a time (batch_size), or shorter sequences")
            largest = max(largest, layer.largest_product(current))
        if len(self._plans) >= CHECKED_SHAPES:
            self._plans.clear()
        plan = self._plans[shape] = Plan(tensor.shape, largest)
        return plan


def _restored(report: ModelReport, dtype: str, weights: list[Array]) -> NumpyModel:
    model = NumpyModel.__new__(NumpyModel)
    model._build(report, dtype)
    model.set_weights(weights)
    return model


def run_layers(layers: Sequence[Kernel], x: Array, mask: Mask) -> Array:
    """The model's inference on a batch."""
    for layer in layers:
        x, mask = layer.forward(x, mask)
    return x


def _one_or_list(outputs: list[Array]) -> Array | list[Array]:
    return outputs[0] if len(outputs) == 1 else outputs


def _first_difference(specs: list[tuple[str, Weight]], names: list[str], arrays: Sequence[Array]) -> str:
    for (layer, spec), name, array in zip(specs, names, arrays):
        if tuple(np.shape(array)) != spec.shape:
            return f"the first mismatch is {name}: expected {spec.shape}, found {tuple(np.shape(array))}"
    if len(arrays) < len(specs):
        return f"missing from {names[len(arrays)]} on"
    return f"{len(arrays) - len(specs)} extra array(s) after {names[-1] if names else 'the last weight'}"
