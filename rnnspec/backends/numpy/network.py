"""A functional model in NumPy: its calls run in order, each tensor carried with its mask along every edge.

Masks follow Keras: a layer receives its input's mask and gives its output's (the kernels compute both); a layer
whose call takes a mask (a recurrent layer) gets the `mask=` tensor where the spec gives one, else its input's
mask, but only when the call has one tensor argument: with `initial_state=` Keras passes it no mask, and its
output keeps the input's mask all the same. A layer of several tensors whose call takes a mask (Attention) gets
the list of its inputs' masks.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.errors import RnnspecError
from rnnspec.functional_infer import Network, infer_functional
from rnnspec.layers.base import Tensor
from rnnspec.shape import format_shape

Value = tuple[Array, Mask]


def run_network(layers: Sequence[Kernel], network: Network, arrays: Sequence[Array]) -> list[Array]:
    """Every output of the model on one batch (one array per Input, in the model's order)."""
    graph = network.graph
    values: dict[int, list[Value]] = {}
    given = dict(zip(network.input_rows, arrays))
    for index in network.live:
        call = graph.calls[index]
        if not call.inputs:
            values[index] = [(given[index], None)]
            continue
        kernel = layers[network.row_of_layer[call.layer]]
        inputs = [values[ref.call][ref.index] for ref in call.inputs]
        arrays_in = [array for array, _ in inputs]
        masks = [mask for _, mask in inputs]
        states = [values[ref.call][ref.index][0] for ref in call.states] if call.states else None
        withheld = False
        if call.mask is not None:
            masks[0] = np.asarray(values[call.mask.call][call.mask.index][0]).astype(bool, copy=False)
        elif "mask" in kernel.node.kind.call_arguments and not kernel.node.kind.takes_several \
                and not network.implicit_mask.get(index, False):  # several tensors: Keras passes all their masks
            withheld = masks[0] is not None
            if withheld:
                masks[0] = None
        outputs, out_masks = kernel.call(arrays_in, masks, states)
        if withheld and _returns_sequences(kernel):
            out_masks = [inputs[0][1], *out_masks[1:]]
        values[index] = list(zip(outputs, out_masks))
    return [values[ref.call][ref.index][0] for ref in network.outputs]


def _returns_sequences(kernel: Kernel) -> bool:
    args = kernel.node.args
    inner = args.get("layer")
    return bool(args.get("return_sequences") or inner is not None and inner.args.get("return_sequences"))


def network_plan(layers: Sequence[Kernel], network: Network, shapes: list[tuple[int, ...]], dtypes: list[str],
                 itemsize: int) -> tuple[list[tuple[int, ...]], int]:
    """The output shapes of a batch of these input shapes and the largest product of a step, each call checked
    on them as the checker did with unknown dimensions (E501, located at the call, where one does not fit)."""
    from rnnspec.infer import require_allocatable

    report = infer_functional(network.graph, [Tensor(shape, dtype) for shape, dtype in zip(shapes, dtypes)])
    if report.errors:
        err = report.errors[0]
        raise RnnspecError("E501", f"on inputs of shape {', '.join(format_shape(s) for s in shapes)}: "
                           f"{err.message}", err.span, err.hint)
    tensors = report.network.tensors
    graph = network.graph
    largest = 0
    for index in network.live:
        call = graph.calls[index]
        if not call.inputs:
            continue
        kernel = layers[network.row_of_layer[call.layer]]
        current = tensors[call.inputs[0].call][call.inputs[0].index].shape
        out = tensors[index][0].shape
        name = network.names[call.layer]
        if kernel.lacks_steps(current):
            raise RnnspecError("E501", f"{kernel.node.type_name} '{name}' needs at least one step (Keras fails "
                               f"without one); it receives {format_shape(current)}", call.span,
                               "give sequences long enough to leave a step after every layer")
        require_allocatable(kernel.largest_array(current, out) * itemsize,
                            f"{kernel.node.type_name} '{name}' on a batch of {format_shape(current)}", call.span,
                            "predict fewer rows at a time (batch_size), or shorter sequences")
        largest = max(largest, kernel.largest_product(current))
    return [t.shape for t in report.outputs], largest  # type: ignore[misc]
