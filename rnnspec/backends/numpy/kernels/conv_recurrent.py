"""ConvLSTM1D and ConvLSTM2D: LSTM gates from convolutions, one step at a time (channels_last). The convolution is a
sum over the kernel's offsets of strided slices times the offset's `(channels, 4 * filters)` matrix: no im2col
buffer, and the same code for one and two spatial axes."""
from __future__ import annotations

import itertools
import math

import numpy as np

from rnnspec.backends.numpy.activations import activation
from rnnspec.backends.numpy.base import Array, Mask
from rnnspec.backends.numpy.kernels.recurrent import CarriesStates


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's `same`: the output is ceil(size / stride); the odd padding element goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def convolve(x: Array, w: Array, strides: tuple[int, ...], dilation: tuple[int, ...], padding: str) -> Array:
    """`x` (batch, *spatial, channels) by `w` (*window, channels, out), as Keras's `ops.conv`."""
    rank = len(strides)
    if padding == "same":
        pads = [same_padding(x.shape[1 + i], w.shape[i], strides[i], dilation[i]) for i in range(rank)]
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    spatial = x.shape[1:-1]
    out = [(spatial[i] - (w.shape[i] - 1) * dilation[i] - 1) // strides[i] + 1 for i in range(rank)]
    result = np.zeros((x.shape[0], *out, w.shape[-1]), x.dtype)
    for offset in itertools.product(*(range(k) for k in w.shape[:rank])):
        window = tuple(slice(o * d, o * d + (n - 1) * s + 1, s) for o, d, n, s in zip(offset, dilation, out, strides))
        result += x[(slice(None), *window)] @ w[offset]
    return result


class ConvLSTM(CarriesStates):
    """The masked loop of the recurrent kernels (a masked step keeps the states and repeats the output), with
    convolutions for products; `run` and `call` as `Recurrent`'s, so a Bidirectional can hold it."""

    layer_types = ("ConvLSTM1D", "ConvLSTM2D")
    zero_output_for_mask = False  # Bidirectional sets it with return_sequences

    def prepare(self) -> None:
        a = self.a
        self.units = a.filters
        self.act, self.rec_act = activation(a.activation), activation(a.recurrent_activation)
        self.kernel, self.recurrent = self.params[0], self.params[1]
        self.bias = self.params[2] if a.use_bias else None
        self.ones = (1,) * (self.kernel.ndim - 2)
        self.carry_states_if_stateful()

    def lacks_steps(self, input_shape: tuple[int, ...]) -> bool:
        return input_shape[1] == 0

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        """The input convolution of one step, 4 gates wide, beside the output."""
        state = self.state_shape(input_shape)
        return max(math.prod(output_shape), 4 * math.prod(state) * 2)

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        state = self.state_shape(input_shape)
        return math.prod(state[:-1]) * self.recurrent.shape[-2] * self.recurrent.shape[-1]

    def state_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.node.kind.state_shape(self.a, (input_shape[0], *input_shape[1:])))  # type: ignore

    def step(self, x: Array, h: Array, c: Array) -> tuple[Array, Array]:
        a, f = self.a, self.units
        z = convolve(x, self.kernel, a.strides, a.dilation_rate, a.padding)
        z += convolve(h, self.recurrent, self.ones, self.ones, "same")
        if self.bias is not None:
            z += self.bias
        i, fg, g, o = (z[..., k * f:(k + 1) * f] for k in range(4))
        c = self.rec_act(fg) * c + self.rec_act(i) * self.act(g)
        return self.rec_act(o) * self.act(c), c

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        output, out_mask, _ = self.run(x, mask)
        return output, out_mask

    def call(self, inputs: list[Array], masks: list[Mask], initial_state: list[Array] | None = None
             ) -> tuple[list[Array], list[Mask]]:
        """Keras's `output, h, c` with return_state; the states have no mask."""
        want = bool(self.a.return_state)
        output, out_mask, states = self.run(inputs[0], masks[0], initial_state, want)
        if not want:
            return [output], [out_mask]
        return [output, *states], [out_mask, None, None]

    def run(self, x: Array, mask: Mask, initial: list[Array] | None = None, want_states: bool = False
            ) -> tuple[Array, Mask, list[Array]]:
        """(output, its mask, [h, c] if `want_states`), as `Recurrent.run`."""
        batch, steps = x.shape[:2]
        state_shape = self.state_shape(x.shape)
        if self.a.go_backwards:
            x = x[:, ::-1]
        step_mask = None if mask is None else np.asarray(mask, bool)[:, ::-1] if self.a.go_backwards \
            else None if mask is None else np.asarray(mask, bool)
        if initial is None:
            h, c = np.zeros(state_shape, self.dtype), np.zeros(state_shape, self.dtype)
        else:
            h, c = (np.array(s, self.dtype) for s in initial)
        output = np.zeros(state_shape, self.dtype)
        sequence = np.empty((batch, steps, *state_shape[1:]), self.dtype) if self.a.return_sequences else None
        for t in range(steps):
            new_h, new_c = self.step(x[:, t], h, c)
            if step_mask is None:
                output, h, c = new_h, new_h, new_c
            else:
                keep = step_mask[:, t].reshape(batch, *(1,) * (len(state_shape) - 1))
                h, c = np.where(keep, new_h, h), np.where(keep, new_c, c)
                output = np.where(keep, new_h, 0 if self.zero_output_for_mask and sequence is not None else output)
            if sequence is not None:
                sequence[:, t] = output
        finals = [np.array(h, self.dtype), np.array(c, self.dtype)] if want_states else []
        if sequence is not None:
            return sequence, mask, finals
        return np.asarray(output, self.dtype), None, finals
