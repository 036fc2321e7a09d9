"""SimpleRNN, LSTM and GRU: the input projection of every step is computed before the loop, so the loop holds
only `h @ U` and the gate arithmetic; Bidirectional runs a forward and a reversed copy. A functional call may
start from `initial_state` and return the final states (`return_state`)."""
from __future__ import annotations

import math

import numpy as np

from rnnspec.backends.numpy.activations import activation
from rnnspec.backends.numpy.base import Array, Kernel, Mask, make_kernel
from rnnspec.layers.base import Args, LayerNode


SMALL_STEP = 4096  # values per step up to which one transposing copy beats a copy per step (see batch_major)
TANH_AS_EXP_FROM = 4096  # values per step from which 2 / (1 + exp(-2x)) - 1 beats one tanh call (see SimpleRNN)
LSTM_TANH_FORM_UP_TO = 1024  # gate values per step up to which fewer NumPy calls beat faster arithmetic (see LSTM)
WIDE_INPUT = 2  # the input joins the per-step product while it has fewer than this many features per unit
GRU_WIDE_UNITS = 256  # ... and, for GRU, while it has fewer units than this (see GRU.augmented)


def batch_major(states: Array) -> Array:
    """`(steps, units, batch)` as `(batch, steps, units)`. A transposing copy of a large array goes through
    memory in the wrong order for one side; step by step each block still fits in the cache (3x faster at 512
    units and batch 256), but costs a NumPy call per step, which only pays off on large blocks."""
    steps, units, batch = states.shape
    if units * batch <= SMALL_STEP:
        return np.ascontiguousarray(states.transpose(2, 0, 1))
    sequence = np.empty((batch, steps, units), states.dtype)
    for t in range(steps):
        sequence[:, t] = states[t].T
    return sequence


def tanh_of_scaled(z: Array, out: Array, one: Array, two: Array) -> None:
    """tanh(x) into `out` from `z = -2x`, as `2 / (1 + exp(z)) - 1`: an exp and four cheap calls, faster than
    NumPy's float32 tanh on large steps; `z` is overwritten. exp overflowing to inf gives the exact limit -1."""
    np.exp(z, z)
    np.add(z, one, z)
    np.reciprocal(z, z)
    np.multiply(z, two, z)
    np.subtract(z, one, out)


class CarriesStates(Kernel):
    """Keras's `stateful=True` for a kernel with the recurrent `run`: a call starts from the states the last one
    ended with (zeros after a reset) unless given `initial_state`, and keeps its final states, those of each
    row's last real step. A subclass calls `carry_states_if_stateful` in `prepare`."""

    carried: list[Array] | None = None

    def carry_states_if_stateful(self) -> None:
        if self.a.get("stateful"):
            # instance attributes over the methods: the stateless layers keep their fast paths untouched
            self.stateful, self.carried = True, None
            self.forward, self.run = self.stateful_forward, self.stateful_run  # type: ignore[method-assign]

    def reset_states(self) -> None:
        self.carried = None

    def run(self, x: Array, mask: Mask, initial: list[Array] | None = None, want_states: bool = False
            ) -> tuple[Array, Mask, list[Array]]:
        """(output, its mask, the final states batch-major, or [] unless `want_states`), starting from `initial`
        (batch-major, Keras's order) or zeros."""
        raise NotImplementedError

    def stateful_forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        output, out_mask, _ = self.stateful_run(x, mask)
        return output, out_mask

    def stateful_run(self, x: Array, mask: Mask, initial: list[Array] | None = None, want_states: bool = False
                     ) -> tuple[Array, Mask, list[Array]]:
        output, out_mask, finals = type(self).run(self, x, mask, self.carried if initial is None else initial, True)
        self.carried = finals
        return output, out_mask, [s.copy() for s in finals] if want_states else []


class Recurrent(CarriesStates):
    """The time loop and Keras's masking rules; subclasses give one step of the cell, and a fast loop for the
    unmasked case (Keras's default activations).

    The fast loops work feature-major: a state is `(units, batch)` and a step computes `U^T h` as `(gates *
    units, batch)`, so that every gate is a contiguous block. NumPy runs a ufunc over a contiguous block in one
    flat loop, but over a column slice of a batch-major `(batch, 4 * units)` array row by row, up to 4x slower.
    """

    zero_output_for_mask = False  # Keras: masked steps repeat the last output; Bidirectional forces zeros

    def prepare(self) -> None:
        a = self.a
        self.units = a.units
        self.act = activation(a.activation)
        self.rec_act = activation(a.get("recurrent_activation", "linear"))
        kernel, recurrent, *bias = self.params
        self.kernel, self.recurrent = kernel, recurrent
        self.input_bias, self.recurrent_bias = self.split_bias(bias[0] if bias else None)
        self.fast = self.prepare_fast()
        self.carry_states_if_stateful()

    def split_bias(self, bias: Array | None) -> tuple[Array | None, Array | None]:
        return bias, None

    def lacks_steps(self, input_shape: tuple[int, ...]) -> bool:
        return input_shape[1] == 0

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        """The loop's states with the input beside them, or the input projection of every step."""
        batch, steps, features = input_shape
        return max(math.prod(output_shape), (steps + 1) * batch * (self.kernel.shape[1] + features + 1))

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        """The product of every step (the input projection, done once, matters less)."""
        inner = self.units + (input_shape[-1] + 1 if self.augmented() else 0)
        return self.kernel.shape[1] * inner * input_shape[0]

    def initial_state(self, batch: int) -> list[Array]:
        return [np.zeros((batch, self.units), self.dtype)]

    def step(self, projected: Array, state: list[Array]) -> tuple[Array, list[Array]]:
        raise NotImplementedError

    def prepare_fast(self) -> bool:
        """Derive the fast loop's weights; False where only the general step applies."""
        return False

    def fast_plan(self, batch: int) -> str:
        """What the fast loop needs to know about this batch size (see LSTM)."""
        return ""

    def run_fast(self, x: Array, plan: str, initial: list[Array] | None = None) -> tuple[Array, Array | None]:
        """The unmasked loop over the buffers of `inputs`, h_t written into states[t + 1], from the batch-major
        `initial` states where given; returns the states and the final cell (LSTM; None for the others),
        feature-major."""
        raise NotImplementedError

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        if self.fast and mask is None:  # the chain's common case, a call shallower than `run`
            if self.a.go_backwards:
                x = x[:, ::-1]
            return self.fast_output(x, self.fast_plan(x.shape[0]))[0], None
        output, out_mask, _ = self.run(x, mask)
        return output, out_mask

    def call(self, inputs: list[Array], masks: list[Mask], initial_state: list[Array] | None = None
             ) -> tuple[list[Array], list[Mask]]:
        """Keras's `output, *states` with return_state; a state has no mask (RNN.compute_mask gives None)."""
        want = bool(self.a.return_state)
        if initial_state is None and not want:
            return super().call(inputs, masks)  # the chain's path
        output, out_mask, states = self.run(inputs[0], masks[0], initial_state, want)
        if not want:
            return [output], [out_mask]
        return [output, *states], [out_mask, *(None for _ in states)]

    def run(self, x: Array, mask: Mask, initial: list[Array] | None = None, want_states: bool = False
            ) -> tuple[Array, Mask, list[Array]]:
        """(output, its mask, the final states batch-major, or [] unless `want_states`), starting from `initial`
        (batch-major, Keras's order) or zeros. With a mask, a state keeps its value over a masked step, so a
        final state is that of the row's last real step (or `initial`, for a row without one)."""
        batch, steps, features = x.shape
        if self.a.go_backwards:
            x = x[:, ::-1]
        if self.fast and mask is None:
            output, h, cell = self.fast_output(x, self.fast_plan(batch), initial)
            if not want_states:
                return output, None, []
            finals = [h[-1]] if cell is None else [h[-1], cell]
            return output, None, [np.array(s.T, order="C") for s in finals]  # copies: no output shares them
        projected = np.matmul(x.reshape(batch * steps, features), self.kernel).reshape(batch, steps, -1)
        if self.input_bias is not None:
            projected += self.input_bias
        sequence = np.empty((batch, steps, self.units), self.dtype) if self.a.return_sequences else None
        step_mask = None if mask is None else (mask[:, ::-1] if self.a.go_backwards else mask)
        state = self.initial_state(batch) if initial is None else [np.asarray(s, self.dtype) for s in initial]
        # Keras: the output before the first real step is zeros even from a given initial_state
        output = np.zeros((batch, self.units), self.dtype)
        for t in range(steps):
            new_output, new_state = self.step(projected[:, t], state)
            if step_mask is None:
                output, state = new_output, new_state
            else:
                # Keras: a masked step keeps the state; its output repeats the previous one (zeros inside
                # Bidirectional). The last output is then that of the last real step.
                keep = step_mask[:, t, None]
                state = [np.where(keep, new, old) for new, old in zip(new_state, state)]
                if self.zero_output_for_mask and sequence is not None:
                    sequence[:, t] = np.where(keep, new_output, 0)
                    output = np.where(keep, new_output, output)
                    continue
                output = np.where(keep, new_output, output)
            if sequence is not None:
                sequence[:, t] = output
        finals = [np.array(s, self.dtype) for s in state] if want_states else []  # copies: no output shares them
        return (sequence, mask, finals) if sequence is not None else (output, None, finals)

    def fast_output(self, x: Array, plan: str, initial: list[Array] | None = None
                    ) -> tuple[Array, Array, Array | None]:
        """The output, with the loop's h of every step and its final cell (LSTM), feature-major, for the states."""
        with np.errstate(over="ignore"):  # exp(large) = inf in a fast loop gives the exact limits 0 and -1
            states, cell = self.run_fast(x, plan, initial)
        h = states[:, :self.units]
        if self.a.return_sequences:
            return batch_major(h[1:]), h, cell
        return np.ascontiguousarray(h[-1].T), h, cell

    def augmented(self) -> bool:
        """Whether the fast loop multiplies `[h; x_t; 1]` by `[U^T, W^T, b]` each step (see `inputs`)."""
        return self.input_shape[-1] < WIDE_INPUT * self.units

    def inputs(self, x: Array, kernel: Array, bias: Array | None, wide: Array, recurrent_t: Array,
               initial: list[Array] | None = None) -> tuple[Array, Array, Array | None]:
        """(states, weights, projection) of a fast loop. States are `(steps + 1, rows, batch)`; the loop writes
        h_t into the first `units` rows of states[t + 1], where the next step reads it and a returned sequence
        finds it. Where the input is narrow, the rows below h hold x_t and a 1, so that one product per step, by
        `wide`, also applies the kernel and bias: a NumPy call fewer per step, and no separate projection.
        Otherwise the projection of all steps comes first, added each step. h_0 is `initial[0]` or zeros."""
        batch, steps, features = x.shape
        u = self.units
        h0 = 0 if initial is None else np.asarray(initial[0]).T
        if not self.augmented():
            states = np.empty((steps + 1, u, batch), self.dtype)
            states[0] = h0
            return states, recurrent_t, self.project(x, kernel, bias)
        states = np.empty((steps + 1, u + features + 1, batch), self.dtype)
        states[0, :u] = h0
        states[:steps, u:u + features] = x.transpose(1, 2, 0)
        states[steps, u:] = 0
        states[:, -1] = 1
        return states, wide, None

    def widen(self, recurrent_t: Array, kernel: Array, bias: Array | None) -> Array:
        """`[U^T, W^T, b]` for the augmented product (a zero column without a bias)."""
        last = np.zeros((kernel.shape[1], 1), self.dtype) if bias is None else bias[:, None]
        return np.ascontiguousarray(np.hstack([recurrent_t, kernel.T, last]), dtype=self.dtype)

    def project(self, x: Array, kernel: Array, bias: Array | None) -> Array:
        """The input projection of every step, `(steps, gates * units, batch)`, before the loop."""
        batch, steps, features = x.shape
        if batch == 1:  # one product, whose (1, steps, gates * units) is already (steps, gates * units, 1)
            projected = np.matmul(x[0], kernel)
            if bias is not None:
                projected += bias
            return projected.reshape(steps, -1, 1)
        # a product per step on the transposed input, which is small: transposing the projection costs far more
        projected = np.matmul(np.ascontiguousarray(kernel.T), np.ascontiguousarray(x.transpose(1, 2, 0)))
        if bias is not None:
            projected += bias[:, None]
        return projected


class SimpleRNN(Recurrent):
    layer_types = ("SimpleRNN",)

    def step(self, projected: Array, state: list[Array]) -> tuple[Array, list[Array]]:
        h = self.act(projected + state[0] @ self.recurrent)
        return h, [h]

    def prepare_fast(self) -> bool:
        """Weights in two forms, as LSTM's: as they are for tanh, and times -2 for `tanh(x) = 2 / (1 + exp(-2x))
        - 1`, whose four cheap calls and an exp beat one float32 tanh on large steps (best of 60 calls, 100 steps:
        0.96x the time of the tanh form at 4,096 values per step, SimpleRNN(128) at batch 32, and 16,384;
        1.01-1.11x at 1,024-2,048 and 512 units at batch 1)."""
        if self.a.activation != "tanh":
            return False
        self.forms = {}
        for form, scale in (("tanh", 1.0), ("exp", -2.0)):
            kernel = np.ascontiguousarray(self.kernel * scale)
            bias = None if self.input_bias is None else self.input_bias * scale
            recurrent_t = np.ascontiguousarray(self.recurrent.T * scale)
            self.forms[form] = (kernel, bias, recurrent_t, self.widen(recurrent_t, kernel, bias))
        return True

    def fast_plan(self, batch: int) -> str:
        return "exp" if batch * self.units >= TANH_AS_EXP_FROM else "tanh"

    def run_fast(self, x: Array, plan: str, initial: list[Array] | None = None) -> tuple[Array, Array | None]:
        batch, steps, _ = x.shape
        u = self.units
        kernel, bias, recurrent_t, wide = self.forms[plan]
        states, weights, projected = self.inputs(x, kernel, bias, wide, recurrent_t, initial)
        matmul, add, tanh = np.matmul, np.add, np.tanh  # see LSTM.run_fast
        one, two = np.array(1, self.dtype), np.array(2, self.dtype)
        z = np.empty((u, batch), self.dtype)
        exp_form = plan == "exp"
        for t in range(steps):
            matmul(weights, states[t], z)
            if projected is not None:
                add(z, projected[t], z)
            if exp_form:
                tanh_of_scaled(z, states[t + 1, :u], one, two)
            else:
                tanh(z, states[t + 1, :u])
        return states, None


class LSTM(Recurrent):
    """Gates i, f, c, o in one fused product: `z = x W + h U + b`."""

    layer_types = ("LSTM",)

    def initial_state(self, batch: int) -> list[Array]:
        return [np.zeros((batch, self.units), self.dtype), np.zeros((batch, self.units), self.dtype)]

    def step(self, projected: Array, state: list[Array]) -> tuple[Array, list[Array]]:
        h, c = state
        u = self.units
        z = projected + h @ self.recurrent
        i = self.rec_act(z[:, :u])
        f = self.rec_act(z[:, u:2 * u])
        c = f * c + i * self.act(z[:, 2 * u:3 * u])
        o = self.rec_act(z[:, 3 * u:])
        h = o * self.act(c)
        return h, [h, c]

    def prepare_fast(self) -> bool:
        """Gates reordered to o, i, f, g and scaled so that one transcendental call serves all four, in two forms.

        exp form: o, i, f negated and g times -2, so `s = 1 / (1 + exp(z'))` is sigmoid for o, i, f and
        (tanh(g) + 1) / 2 for g; NumPy's float32 exp is much faster than its tanh, which wins on large steps.
        tanh form: o, i, f halved, so sigmoid = tanh(z/2)/2 + 1/2 and g is tanh as it is; two NumPy calls
        fewer per step, which wins on small steps where each call's overhead outweighs its arithmetic. Measured
        (LSTM(32), 100 steps): tanh form 0.90x the time of exp at batch 1 and 4, even at 8 (1,024 gate values),
        exp 0.86x at batch 32 (4,096).
        """
        if (self.a.activation, self.a.recurrent_activation) != ("tanh", "sigmoid"):
            return False
        u = self.units
        order = np.r_[3 * u:4 * u, 0:2 * u, 2 * u:3 * u]
        self.forms = {}
        for form, gate_scale, cell_scale in (("exp", -1.0, -2.0), ("tanh", 0.5, 1.0)):
            scale = np.r_[np.full(3 * u, gate_scale), np.full(u, cell_scale)].astype(self.dtype)
            bias = None if self.input_bias is None else self.input_bias[order] * scale
            kernel = self.kernel[:, order] * scale
            recurrent_t = np.ascontiguousarray((self.recurrent[:, order] * scale).T)
            self.forms[form] = (np.ascontiguousarray(kernel), bias, recurrent_t, self.widen(recurrent_t, kernel, bias))
        return True

    def fast_plan(self, batch: int) -> str:
        return "tanh" if batch * 4 * self.units <= LSTM_TANH_FORM_UP_TO else "exp"

    def run_fast(self, x: Array, plan: str, initial: list[Array] | None = None) -> tuple[Array, Array | None]:
        """One buffer holds the rows [o, i, f, g, c], so that `[i, f] * [g, c]` and a sum of its halves update
        the cell in two calls. Every form keeps the true cell in c (only the weights are scaled), so a given
        initial cell goes in as it is."""
        batch, steps, _ = x.shape
        u = self.units
        kernel, bias, recurrent_t, wide = self.forms[plan]
        states, weights, projected = self.inputs(x, kernel, bias, wide, recurrent_t, initial)
        cells = np.zeros((5 * u, batch), self.dtype)
        if initial is not None:
            cells[4 * u:] = np.asarray(initial[1]).T
        z, ofi, o, i_f, g_c, g, c = cells[:4 * u], cells[:3 * u], cells[:u], cells[u:3 * u], cells[3 * u:], \
            cells[3 * u:4 * u], cells[4 * u:]
        tmp = np.empty((u, batch), self.dtype)
        exp_form = plan == "exp"
        # NumPy calls by local name, outputs by position and constants as arrays of the dtype: each saves a
        # fraction of a microsecond per call (a Python float is converted on every call), many per step
        matmul, add, subtract, multiply, exp, tanh, reciprocal = \
            np.matmul, np.add, np.subtract, np.multiply, np.exp, np.tanh, np.reciprocal
        one, two, half = (np.array(v, self.dtype) for v in (1, 2, 0.5))
        for t in range(steps):
            matmul(weights, states[t], z)
            if projected is not None:
                add(z, projected[t], z)
            if exp_form:
                exp(z, z)
                add(z, one, z)
                reciprocal(z, z)
                multiply(g, two, g)
                subtract(g, one, g)
            else:
                tanh(z, z)
                multiply(ofi, half, ofi)
                add(ofi, half, ofi)
            multiply(i_f, g_c, g_c)  # [i * g, f * c]
            add(g, c, c)
            tanh(c, tmp)
            multiply(o, tmp, states[t + 1, :u])
        return states, c


class GRU(Recurrent):
    """Gates z, r, h; with reset_after the reset gate scales `h U_h + b_h` (two biases), else `h` first."""

    layer_types = ("GRU",)

    def split_bias(self, bias: Array | None) -> tuple[Array | None, Array | None]:
        if bias is not None and self.a.reset_after:
            return bias[0], bias[1]
        return bias, None

    def step(self, projected: Array, state: list[Array]) -> tuple[Array, list[Array]]:
        (h,) = state
        u = self.units
        if self.a.reset_after:
            inner = h @ self.recurrent
            if self.recurrent_bias is not None:
                inner += self.recurrent_bias
            z = self.rec_act(projected[:, :u] + inner[:, :u])
            r = self.rec_act(projected[:, u:2 * u] + inner[:, u:2 * u])
            hh = self.act(projected[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            inner = h @ self.recurrent[:, :2 * u]
            z = self.rec_act(projected[:, :u] + inner[:, :u])
            r = self.rec_act(projected[:, u:2 * u] + inner[:, u:])
            hh = self.act(projected[:, 2 * u:] + (r * h) @ self.recurrent[:, 2 * u:])
        h = z * h + (1 - z) * hh
        return h, [h]

    def prepare_fast(self) -> bool:
        """reset_after (Keras's default) with tanh/sigmoid: the z and r columns negated so that their sigmoid is
        `1 / (1 + exp(x))` (NumPy's float32 exp is much faster than its tanh), and their recurrent biases folded
        into the input projection (they are plain sums). Augmented (see `inputs`), one product gives
        [z, r | U_h h + b_h | W_h x + b_x]. Two forms, as SimpleRNN's: the candidate's weights as they are for
        tanh, or times -2 for its exp form (0.97x the time at GRU(128) batch 32, 0.95-0.98x at GRU(512))."""
        a = self.a
        if (a.activation, a.recurrent_activation, a.reset_after) != ("tanh", "sigmoid", True):
            return False
        self.forms = {form: self.fast_weights(candidate_scale) for form, candidate_scale in (("tanh", 1.0),
                                                                                             ("exp", -2.0))}
        return True

    def fast_weights(self, candidate_scale: float) -> tuple[Array, Array | None, Array, Array | None, Array]:
        """(kernel, bias, recurrent_t, candidate's recurrent bias, wide) of a fast loop."""
        u = self.units
        scale = np.r_[np.full(2 * u, -1.0), np.full(u, candidate_scale)].astype(self.dtype)
        recurrent_t = np.ascontiguousarray((self.recurrent * scale).T)
        h_bias = None if self.recurrent_bias is None else self.recurrent_bias[2 * u:, None] * scale[2 * u:, None]
        bias = None
        if self.input_bias is not None:
            folded = self.input_bias.copy()
            folded[:2 * u] += self.recurrent_bias[:2 * u]  # type: ignore[index]
            bias = folded * scale
        kernel = np.ascontiguousarray(self.kernel * scale)
        # augmented rows: z and r from all three parts; U_h h + b_h and W_h x + b_x apart, for r to scale the first
        features = self.kernel.shape[0]
        wide = np.zeros((4 * u, u + features + 1), self.dtype)
        wide[:3 * u, :u] = recurrent_t
        wide[:2 * u, u:-1], wide[3 * u:, u:-1] = kernel[:, :2 * u].T, kernel[:, 2 * u:].T
        if bias is not None:
            wide[:2 * u, -1], wide[3 * u:, -1] = bias[:2 * u], bias[2 * u:]
        if h_bias is not None:
            wide[2 * u:3 * u, -1] = h_bias[:, 0]
        return kernel, bias, recurrent_t, h_bias, wide

    def fast_plan(self, batch: int) -> str:
        return "exp" if batch * self.units >= TANH_AS_EXP_FROM else "tanh"

    def augmented(self) -> bool:
        """Augmented, GRU's product has a fourth block of rows (W_h x apart from U_h h): a third more arithmetic,
        which pays for the calls it saves only while the units are few (measured: 0.85x the time at 32 and 128
        units, 1.13x at 512)."""
        return super().augmented() and self.units < GRU_WIDE_UNITS

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        """Augmented, the fast loop's product has a fourth block of rows (W_h x apart from U_h h)."""
        product = super().largest_product(input_shape)
        return product * 4 // 3 if self.fast and self.augmented() else product

    def run_fast(self, x: Array, plan: str, initial: list[Array] | None = None) -> tuple[Array, Array | None]:
        batch, steps, _ = x.shape
        u = self.units
        kernel, bias, recurrent_t, h_bias, wide = self.forms[plan]
        states, weights, projected = self.inputs(x, kernel, bias, wide, recurrent_t, initial)
        if projected is None:
            h_bias = None  # in the product
        inner = np.empty((weights.shape[0], batch), self.dtype)
        gates = inner[:2 * u] if projected is None else np.empty((2 * u, batch), self.dtype)
        z, r, inner_h, x_h = gates[:u], gates[u:], inner[2 * u:3 * u], inner[3 * u:]
        hh = np.empty((u, batch), self.dtype)
        matmul, add, subtract, multiply, exp, tanh, reciprocal = \
            np.matmul, np.add, np.subtract, np.multiply, np.exp, np.tanh, np.reciprocal  # see LSTM.run_fast
        one, two = np.array(1, self.dtype), np.array(2, self.dtype)
        exp_form = plan == "exp"
        for t in range(steps):
            matmul(weights, states[t], inner)
            if projected is not None:
                xp = projected[t]
                add(xp[:2 * u], inner[:2 * u], gates)
                x_h = xp[2 * u:]
            exp(gates, gates)          # the z and r rows are negated: sigmoid = 1 / (1 + exp(-x))
            add(gates, one, gates)
            reciprocal(gates, gates)
            if h_bias is not None:
                add(inner_h, h_bias, inner_h)
            multiply(r, inner_h, hh)
            add(hh, x_h, hh)
            if exp_form:               # the candidate's rows are times -2
                tanh_of_scaled(hh, hh, one, two)
            else:
                tanh(hh, hh)
            h, h_next = states[t, :u], states[t + 1, :u]
            subtract(h, hh, h_next)    # h_t = hh + z * (h - hh)
            multiply(h_next, z, h_next)
            add(h_next, hh, h_next)
        return states, None


class Bidirectional(Kernel):
    """The layer forwards and `backward_layer` (or a copy with go_backwards); a returned sequence of the backward
    half is flipped back."""

    layer_types = ("Bidirectional",)

    def __init__(self, node: LayerNode, input_shape: tuple, dtype: np.dtype) -> None:
        super().__init__(node, input_shape, dtype)
        inner = node.args.layer
        backward = node.args.get("backward_layer") or LayerNode(
            inner.kind, Args({**inner.args, "go_backwards": True}), inner.span, inner.arg_spans)
        self.halves: list[Recurrent] = [make_kernel(inner, input_shape, dtype),  # type: ignore[list-item]
                                        make_kernel(backward, input_shape, dtype)]
        self.split = len(self.halves[0].specs)  # the forward half's weight count: the halves may differ in type
        for half in self.halves:
            half.zero_output_for_mask = bool(inner.args.return_sequences)  # type: ignore[attr-defined]

    def prepare(self) -> None:
        self.halves[0].load(self.params[:self.split])
        self.halves[1].load(self.params[self.split:])
        self.stateful = any(half.stateful for half in self.halves)

    def reset_states(self) -> None:
        for half in self.halves:
            half.reset_states()

    def fresh(self, rng: np.random.Generator) -> list[Array]:
        return self.halves[0].fresh(rng) + self.halves[1].fresh(rng)

    def lacks_steps(self, input_shape: tuple[int, ...]) -> bool:
        return input_shape[1] == 0

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return max(math.prod(output_shape), *(half.largest_array(input_shape, (*output_shape[:-1], half.units))
                                              for half in self.halves))

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        return max(half.largest_product(input_shape) for half in self.halves)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        y, out_mask = self.halves[0].forward(x, mask)
        y_rev, _ = self.halves[1].forward(x, mask)
        return self.merge(y, y_rev), out_mask

    def call(self, inputs: list[Array], masks: list[Mask], initial_state: list[Array] | None = None
             ) -> tuple[list[Array], list[Mask]]:
        """As Keras: `initial_state` split in half (the forward layer's first), and with return_state the merged
        output, the forward layer's final states, then the backward layer's, the states without a mask."""
        want = bool(self.a.layer.args.return_state)
        if initial_state is None and not want:
            return super().call(inputs, masks)
        x, mask = inputs[0], masks[0]
        half = len(initial_state) // 2 if initial_state is not None else 0
        forward, backward = self.halves
        y, out_mask, states = forward.run(x, mask, initial_state[:half] if initial_state else None, want)
        y_rev, _, back_states = backward.run(x, mask, initial_state[half:] if initial_state else None, want)
        output = self.merge(y, y_rev)
        if not want:
            return [output], [out_mask]
        states += back_states
        return [output, *states], [out_mask, *(None for _ in states)]

    def merge(self, y: Array, y_rev: Array) -> Array:
        """The two halves' outputs by merge_mode, the backward half's sequence first put back in time order."""
        if self.a.layer.args.return_sequences:
            y_rev = y_rev[:, ::-1]
        mode = self.a.merge_mode
        if mode == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if mode == "sum":
            return y + y_rev
        if mode == "ave":
            return (y + y_rev) / 2
        return y * y_rev
