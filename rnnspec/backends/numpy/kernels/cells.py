"""RNN over a cell: composed from the recurrent layers' kernels, not a copy of them.

A single cell is the step of a layer (LSTMCell of LSTM), so RNN runs that layer's kernel, fast loops included.
A stack of cells runs each cell's `step` in turn within one step of the shared masked loop (`Recurrent.run`), the
first cell's input projection done before the loop as for a layer.
"""
from __future__ import annotations

import math

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask, make_kernel
from rnnspec.backends.numpy.init import initial_value
from rnnspec.backends.numpy.kernels.recurrent import Recurrent
from rnnspec.layers.base import LayerNode
from rnnspec.layers.cells import as_layer, leaves
from rnnspec.layers.objects import initializer_for
from rnnspec.shape import Shape


def fresh_for(cell: LayerNode, kernel: Kernel, rng: np.random.Generator) -> list[Array]:
    """A cell's fresh weights from the cell's own arguments (its initialisers, unit_forget_bias)."""
    forget = bool(cell.args.get("unit_forget_bias"))
    return [initial_value(w, rng, forget, initializer_for(cell.args, w.name)) for w in kernel.specs]


class Stacked(Recurrent):
    """StackedRNNCells in RNN's loop: `step` runs the cells in order, each on the output of the one before, over
    the states of all of them (flattened, Keras's order). `self.kernel` and `self.input_bias` are the first
    cell's, so `run` projects the first cell's input for every step before the loop."""

    def __init__(self, node: LayerNode, input_shape: Shape, dtype: np.dtype) -> None:
        super().__init__(node, input_shape, dtype)
        self.cells: list[Recurrent] = []
        features = input_shape[-1]
        for cell in leaves(node.args.cell):
            kernel = make_kernel(as_layer(cell), (input_shape[0], input_shape[1], features), dtype)
            self.cells.append(kernel)  # type: ignore[arg-type]
            features = cell.args.units
        self.counts = [len(cell.node.kind.state_names) for cell in self.cells]  # states per cell

    def prepare(self) -> None:
        start = 0
        for cell in self.cells:
            cell.load(self.params[start:start + len(cell.specs)])
            start += len(cell.specs)
        first = self.cells[0]
        self.units = self.cells[-1].units
        self.kernel, self.input_bias = first.kernel, first.input_bias
        self.fast = False

    def initial_state(self, batch: int) -> list[Array]:
        return [s for cell in self.cells for s in cell.initial_state(batch)]

    def step(self, projected: Array, state: list[Array]) -> tuple[Array, list[Array]]:
        new_state: list[Array] = []
        start = 0
        output = projected
        for index, (cell, count) in enumerate(zip(self.cells, self.counts)):
            if index:  # the first cell's projection was done before the loop
                output = output @ cell.kernel
                if cell.input_bias is not None:
                    output = output + cell.input_bias
            output, states = cell.step(output, state[start:start + count])
            new_state += states
            start += count
        return output, new_state

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        return sum(cell.kernel.shape[1] * (cell.units + cell.kernel.shape[0]) for cell in self.cells) * input_shape[0]


class RNN(Recurrent):
    """Keras's RNN: the layer kernel of its cell, or `Stacked`, run with RNN's flags. `zero_output_for_mask`
    (also set by a Bidirectional around it) is passed on to the loop."""

    layer_types = ("RNN",)

    def __init__(self, node: LayerNode, input_shape: Shape, dtype: np.dtype) -> None:
        super().__init__(node, input_shape, dtype)
        a = node.args
        self.cell_nodes = leaves(a.cell)
        if a.cell.type_name == "StackedRNNCells":
            self.inner: Recurrent = Stacked(node, input_shape, dtype)
        else:
            layer = as_layer(a.cell, return_sequences=a.return_sequences, go_backwards=a.go_backwards,
                             return_state=a.return_state)
            self.inner = make_kernel(layer, input_shape, dtype)  # type: ignore[assignment]
        self.zero_output_for_mask = bool(a.zero_output_for_mask)

    @property  # type: ignore[override]
    def zero_output_for_mask(self) -> bool:
        return self.inner.zero_output_for_mask

    @zero_output_for_mask.setter
    def zero_output_for_mask(self, value: bool) -> None:
        self.inner.zero_output_for_mask = value  # an instance attribute of the loop's kernel

    def prepare(self) -> None:
        self.inner.load(self.params)
        self.units = self.inner.units
        self.carry_states_if_stateful()  # around the inner loop, which is stateless: RNN.run zeroes masked rows

    def fresh(self, rng: np.random.Generator) -> list[Array]:
        if isinstance(self.inner, Stacked):
            return [w for cell, kernel in zip(self.cell_nodes, self.inner.cells) for w in fresh_for(cell, kernel, rng)]
        return fresh_for(self.cell_nodes[0], self.inner, rng)

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return max(math.prod(output_shape), self.inner.largest_array(input_shape, output_shape))

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        return self.inner.largest_product(input_shape)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        if mask is None:
            return self.inner.forward(x, mask)
        output, out_mask, _ = self.run(x, mask)
        return output, out_mask

    def run(self, x: Array, mask: Mask, initial: list[Array] | None = None, want_states: bool = False
            ) -> tuple[Array, Mask, list[Array]]:
        """The loop's run; with zero_output_for_mask and only the last output, Keras zeroes the rows whose last
        step read is masked (the loop's output there would repeat an earlier one)."""
        output, out_mask, states = self.inner.run(x, mask, initial, want_states)
        if mask is not None and self.zero_output_for_mask and not self.a.return_sequences:
            last = np.asarray(mask, bool)[:, 0 if self.a.go_backwards else -1]
            output = np.where(last[:, None], output, 0).astype(output.dtype)
        return output, out_mask, states
