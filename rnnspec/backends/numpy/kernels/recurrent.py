"""SimpleRNN, LSTM and GRU: the input projection of every step is one matrix product before the loop, so the
loop holds only `h @ U` and the gate arithmetic; Bidirectional runs a forward and a reversed copy."""
from __future__ import annotations

import numpy as np

from rnnspec.backends.numpy.activations import activation
from rnnspec.backends.numpy.base import Array, Kernel, Mask, make_kernel
from rnnspec.layers.base import Args, LayerNode


SMALL_STEP = 4096  # gate values per step up to which fewer NumPy calls beat faster arithmetic (see LSTM)


class Recurrent(Kernel):
    """The time loop and Keras's masking rules; subclasses give one step of the cell."""

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

    def split_bias(self, bias: Array | None) -> tuple[Array | None, Array | None]:
        return bias, None

    def initial_state(self, batch: int) -> list[Array]:
        return [np.zeros((batch, self.units), self.dtype)]

    def step(self, projected: Array, state: list[Array]) -> tuple[Array, list[Array]]:
        raise NotImplementedError

    def prepare_fast(self) -> tuple[Array, Array | None] | None:
        """(kernel, input bias) for `run_fast`, or None where only the general step applies."""
        return None

    def fast_for(self, batch: int) -> tuple | None:
        """The fast loop's plan for this batch size, projection kernel and bias first (see LSTM), or None."""
        return self.fast

    def run_fast(self, projected: Array, sequence: Array | None, plan: tuple) -> Array:
        """The unmasked loop with preallocated buffers and as few NumPy calls per step as the cell allows."""
        raise NotImplementedError

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        batch, steps, features = x.shape
        if self.a.go_backwards:
            x = x[:, ::-1]
        fast = self.fast_for(batch) if mask is None else None
        kernel, bias = fast[:2] if fast else (self.kernel, self.input_bias)
        projected = np.matmul(x.reshape(batch * steps, features), kernel).reshape(batch, steps, -1)
        if bias is not None:
            projected += bias
        sequence = np.empty((batch, steps, self.units), self.dtype) if self.a.return_sequences else None
        if fast is not None:
            with np.errstate(over="ignore"):  # exp(large) = inf in a fast loop gives the exact limits 0 and -1
                last = self.run_fast(projected, sequence, fast)
            return (sequence, mask) if sequence is not None else (last, None)
        step_mask = None if mask is None else (mask[:, ::-1] if self.a.go_backwards else mask)
        state = self.initial_state(batch)
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
        return (sequence, mask) if sequence is not None else (output, None)


class SimpleRNN(Recurrent):
    layer_types = ("SimpleRNN",)

    def step(self, projected: Array, state: list[Array]) -> tuple[Array, list[Array]]:
        h = self.act(projected + state[0] @ self.recurrent)
        return h, [h]

    def prepare_fast(self) -> tuple[Array, Array | None] | None:
        return (self.kernel, self.input_bias) if self.a.activation == "tanh" else None

    def run_fast(self, projected: Array, sequence: Array | None, plan: tuple) -> Array:
        batch, steps, _ = projected.shape
        h = np.zeros((batch, self.units), self.dtype)
        z = np.empty_like(h)
        recurrent = self.recurrent
        for t in range(steps):
            np.matmul(h, recurrent, out=z)
            z += projected[:, t]
            np.tanh(z, out=h)
            if sequence is not None:
                sequence[:, t] = h
        return h


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

    def prepare_fast(self) -> tuple[Array, Array | None] | None:
        """Gates reordered to i, f, o, g and scaled so that one transcendental call serves all four, in two forms.

        exp form: i, f, o negated and g times -2, so `s = 1 / (1 + exp(z'))` is sigmoid for i, f, o and
        (tanh(g) + 1) / 2 for g; NumPy's float32 exp is much faster than its tanh, which wins on large steps.
        tanh form: i, f, o halved, so sigmoid = tanh(z/2)/2 + 1/2 and g is tanh as it is; two NumPy calls
        fewer per step, which wins on small steps where each call's overhead outweighs its arithmetic.
        """
        if (self.a.activation, self.a.recurrent_activation) != ("tanh", "sigmoid"):
            return None
        u = self.units
        order = np.r_[0:2 * u, 3 * u:4 * u, 2 * u:3 * u]
        self.forms = {}
        for form, gate_scale, cell_scale in (("exp", -1.0, -2.0), ("tanh", 0.5, 1.0)):
            scale = np.r_[np.full(3 * u, gate_scale), np.full(u, cell_scale)].astype(self.dtype)
            bias = None if self.input_bias is None else self.input_bias[order] * scale
            self.forms[form] = (np.ascontiguousarray(self.kernel[:, order] * scale), bias,
                                np.ascontiguousarray(self.recurrent[:, order] * scale))
        return self.forms["exp"][:2]

    def fast_for(self, batch: int) -> tuple | None:
        if self.fast is None:
            return None
        form = "tanh" if batch * 4 * self.units <= SMALL_STEP else "exp"
        return (*self.forms[form], form)

    def run_fast(self, projected: Array, sequence: Array | None, plan: tuple) -> Array:
        batch, steps, _ = projected.shape
        u = self.units
        h = np.zeros((batch, u), self.dtype)
        c = np.zeros_like(h)
        tmp = np.empty_like(h)
        z = np.empty((batch, 4 * u), self.dtype)
        ifo, i, f, o, g = z[:, :3 * u], z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        _, _, recurrent, form = plan
        exp_form = form == "exp"
        for t in range(steps):
            np.matmul(h, recurrent, out=z)
            z += projected[:, t]
            if exp_form:
                np.exp(z, out=z)
                z += 1
                np.reciprocal(z, out=z)
                g *= 2
                g -= 1
            else:
                np.tanh(z, out=z)
                ifo *= 0.5
                ifo += 0.5
            c *= f
            np.multiply(i, g, out=tmp)
            c += tmp
            np.tanh(c, out=tmp)
            np.multiply(o, tmp, out=h)
            if sequence is not None:
                sequence[:, t] = h
        return h


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

    def prepare_fast(self) -> tuple[Array, Array | None] | None:
        """reset_after (Keras's default) with tanh/sigmoid: the z and r columns negated so that their sigmoid is
        `1 / (1 + exp(x))` (NumPy's float32 exp is much faster than its tanh), and their recurrent biases folded
        into the input projection (they are plain sums)."""
        a = self.a
        if (a.activation, a.recurrent_activation, a.reset_after) != ("tanh", "sigmoid", True):
            return None
        u = self.units
        scale = np.r_[np.full(2 * u, -1.0), np.ones(u)].astype(self.dtype)
        self.fast_recurrent = np.ascontiguousarray(self.recurrent * scale)
        self.fast_recurrent_bias = None if self.recurrent_bias is None else self.recurrent_bias[2 * u:].copy()
        bias = None
        if self.input_bias is not None:
            folded = self.input_bias.copy()
            folded[:2 * u] += self.recurrent_bias[:2 * u]  # type: ignore[index]
            bias = folded * scale
        return np.ascontiguousarray(self.kernel * scale), bias

    def run_fast(self, projected: Array, sequence: Array | None, plan: tuple) -> Array:
        batch, steps, _ = projected.shape
        u = self.units
        h = np.zeros((batch, u), self.dtype)
        hh = np.empty_like(h)
        inner = np.empty((batch, 3 * u), self.dtype)
        gates = np.empty((batch, 2 * u), self.dtype)
        z, r, inner_h = gates[:, :u], gates[:, u:], inner[:, 2 * u:]
        recurrent, recurrent_bias = self.fast_recurrent, self.fast_recurrent_bias
        for t in range(steps):
            xp = projected[:, t]
            np.matmul(h, recurrent, out=inner)
            np.add(xp[:, :2 * u], inner[:, :2 * u], out=gates)
            np.exp(gates, out=gates)          # the z and r columns are negated: sigmoid = 1 / (1 + exp(-x))
            gates += 1
            np.reciprocal(gates, out=gates)
            if recurrent_bias is not None:
                inner_h += recurrent_bias
            np.multiply(r, inner_h, out=hh)
            hh += xp[:, 2 * u:]
            np.tanh(hh, out=hh)
            h -= hh          # h = hh + z * (h - hh)
            h *= z
            h += hh
            if sequence is not None:
                sequence[:, t] = h
        return h


class Bidirectional(Kernel):
    """The layer forwards and `backward_layer` (or a copy with go_backwards); a returned sequence of the backward
    half is flipped back."""

    layer_types = ("Bidirectional",)

    def __init__(self, node: LayerNode, input_shape: tuple, dtype: np.dtype) -> None:
        super().__init__(node, input_shape, dtype)
        inner = node.args.layer
        backward = node.args.get("backward_layer") or LayerNode(
            inner.kind, Args({**inner.args, "go_backwards": True}), inner.span, inner.arg_spans)
        self.halves = [make_kernel(inner, input_shape, dtype), make_kernel(backward, input_shape, dtype)]
        self.split = len(self.halves[0].specs)  # the forward half's weight count: the halves may differ in type
        for half in self.halves:
            half.zero_output_for_mask = bool(inner.args.return_sequences)  # type: ignore[attr-defined]

    def prepare(self) -> None:
        self.halves[0].load(self.params[:self.split])
        self.halves[1].load(self.params[self.split:])

    def fresh(self, rng: np.random.Generator) -> list[Array]:
        return self.halves[0].fresh(rng) + self.halves[1].fresh(rng)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        y, out_mask = self.halves[0].forward(x, mask)
        y_rev, _ = self.halves[1].forward(x, mask)
        if self.a.layer.args.return_sequences:
            y_rev = y_rev[:, ::-1]
        mode = self.a.merge_mode
        if mode == "concat":
            return np.concatenate([y, y_rev], axis=-1), out_mask
        if mode == "sum":
            return y + y_rev, out_mask
        if mode == "ave":
            return (y + y_rev) / 2, out_mask
        return y * y_rev, out_mask
