"""What one forward pass of a model costs, per sample: multiply-accumulates (MACs), FLOPs and the memory of each
layer's output, by a rule per layer type (docs/cost.md gives the convention).

Rules read concrete per-sample shapes (the batch dropped). An unknown length is handled outside them: each count is
computed with every unknown dimension set to T for a few values of T, fitted as a polynomial in T and checked at
further values; a count that is no polynomial (a stride or a pooling on an unknown length gives ceil(T/2)) has no
formula and is given only `at T=n`. Where the model inferred again at two lengths shows every unknown dimension to
be T itself, the rules run on the shapes with T put in; otherwise the model is inferred again at each length. Both
keep one shape rule per layer type (rnnspec.layers): a formula cannot disagree with the shapes. Pure Python
integers: `rnnspec check` imports nothing more, and computes costs only when asked (summary --cost,
check --format json --cost, `expect macs`).
"""
from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, NamedTuple, Sequence

from rnnspec.layers.base import Args, LayerNode, Tensor, Weight

if TYPE_CHECKING:
    from rnnspec.infer import ModelReport

BYTES_PER_ELEMENT = 4  # activation memory is counted at float32
Dims = tuple[int, ...]  # a per-sample shape, every dimension known


class Work(NamedTuple):
    """What a layer computes on one sample: `macs` multiply-accumulates and `ops` other arithmetic (one FLOP each:
    a bias add, an activation, a gate's product, a merge's sum)."""

    macs: int = 0
    ops: int = 0

    def __add__(self, other: "Work") -> "Work":  # type: ignore[override]
        return Work(self.macs + other.macs, self.ops + other.ops)

    def times(self, n: int) -> "Work":
        return Work(self.macs * n, self.ops * n)


class Cost(NamedTuple):
    """A layer's (or a model's) cost per sample, at known shapes."""

    macs: int
    flops: int  # 2 * macs + ops
    elements: int  # elements of the layer's outputs (activation memory)

    @property
    def bytes(self) -> int:
        return self.elements * BYTES_PER_ELEMENT

    def __add__(self, other: "Cost") -> "Cost":  # type: ignore[override]
        return Cost(self.macs + other.macs, self.flops + other.flops, self.elements + other.elements)

    def times(self, n: int) -> "Cost":
        return Cost(self.macs * n, self.flops * n, self.elements * n)


Rule = Callable[[Args, Sequence[Dims], Sequence[Dims], Sequence[Weight]], Work]


prod = math.prod  # of a per-sample shape: every dimension known


def act_ops(name: str | None) -> int:
    """FLOPs per element of an activation: none for linear, 3 for a softmax (exp, sum, divide), 1 for any other."""
    if name in (None, "linear"):
        return 0
    return 3 if name in ("softmax", "log_softmax") else 1


# ------------------------------------------------------------------ rules, by layer family


def free(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """No arithmetic: a lookup, a copy, a reshape, or an identity at inference (dropout, noise)."""
    return Work()


def per_output(ops: int) -> Rule:
    """`ops` FLOPs per output element, no MACs (an activation layer)."""
    return lambda a, ins, outs, w: Work(0, ops * prod(outs[0]))


def kernel_product(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """Dense and the convolutions: each output position multiplies its window by the whole kernel `(..., filters)`
    (padding taps included, as computed), then a bias add and the activation per output element."""
    kernel = w[0].shape
    positions = prod(outs[0]) // kernel[-1]
    return Work(positions * prod(kernel), prod(outs[0]) * (bool(a.get("use_bias")) + act_ops(a.get("activation"))))


def transposed(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """Conv1DTranspose: each input position scatters through the kernel `(k, filters, channels)`."""
    kernel = w[0].shape
    positions = prod(ins[0]) // kernel[-1]
    return Work(positions * prod(kernel), prod(outs[0]) * (bool(a.use_bias) + act_ops(a.activation)))


def depthwise(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """DepthwiseConv1D: kernel `(k, channels, multiplier)`, one output element per channel and multiplier."""
    kernel = w[0].shape
    positions = prod(outs[0]) // (kernel[-2] * kernel[-1])
    return Work(positions * prod(kernel), prod(outs[0]) * (bool(a.use_bias) + act_ops(a.activation)))


def separable(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """SeparableConv1D: the depthwise kernel, then the pointwise `(1, channels * multiplier, filters)` one."""
    deep, point = w[0].shape, w[1].shape
    positions = prod(outs[0]) // point[-1]
    return Work(positions * (prod(deep) + prod(point)),
                prod(outs[0]) * (bool(a.use_bias) + act_ops(a.activation)))


def pooling(taps: Callable[[Args], int], average: bool) -> Rule:
    """A pooling: one comparison (max) or addition (average) per window element read, and a divide per output."""
    return lambda a, ins, outs, w: Work(0, prod(outs[0]) * (taps(a) + average))


def global_pooling(average: bool) -> Rule:
    return lambda a, ins, outs, w: Work(0, prod(ins[0]) + average * prod(outs[0]))


def elementwise_merge(extra: int) -> Rule:
    """Add, Subtract, Multiply, Maximum, Minimum: n - 1 operations per output element for n inputs (Average: one
    more, the divide)."""
    return lambda a, ins, outs, w: Work(0, (len(ins) - 1 + extra) * prod(outs[0]))


def dot(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """Dot: a sum of `size` products per output element; normalize adds an L2 norm (square, sum, divide) per input
    element. The contracted size is sqrt(|x| |y| / |out|), since x is (lead, size), y (size, trail), out
    (lead, trail)."""
    x, y = prod(ins[0]), prod(ins[1])
    out = max(prod(outs[0]), 1)
    size = math.isqrt(x * y // out)
    return Work(out * size if prod(outs[0]) else 0, 3 * (x + y) if a.normalize else 0)


# Per step and unit, the arithmetic of a cell besides its products (activations as act_ops, products and sums of
# gates), without biases; `GATES` is how many blocks of `units` its kernels have.
GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3, "ConvLSTM1D": 4, "ConvLSTM2D": 4}


def cell_ops(kind: str, a: Args) -> int:
    """Per step and unit: SimpleRNN its activation; LSTM three gates, two tanh and f*c + i*g, o*tanh(c); GRU two
    gates, the candidate's activation, r times its recurrent part (and, with reset_after, the add to the input
    part) and h = hh + z * (h - hh)."""
    act = act_ops(a.activation)
    gate = act_ops(a.get("recurrent_activation"))
    if kind == "SimpleRNN":
        return act
    if kind in ("LSTM", "ConvLSTM1D", "ConvLSTM2D"):
        return 3 * gate + 2 * act + 4
    return 2 * gate + act + 1 + bool(a.reset_after) + 3


def bias_ops(kind: str, a: Args) -> int:
    """Per step and unit: one add per gate's bias (GRU with reset_after has an input and a recurrent bias)."""
    if not a.use_bias:
        return 0
    return GATES[kind] * (2 if kind == "GRU" and a.reset_after else 1)


def cell_step(kind: str, a: Args, features: int) -> Work:
    """One step of a cell on `features` inputs: each gate is one contraction over the input and the state
    (features + units terms per gate unit)."""
    units, gates = a.units, GATES[kind]
    return Work(gates * units * (features + units), units * (cell_ops(kind, a) + bias_ops(kind, a)))


def recurrent(kind: str) -> Rule:
    def rule(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
        steps, features = ins[0][0], ins[0][-1]
        return cell_step(kind, a, features).times(steps)

    rule.__doc__ = f"{kind}: one step per time step, whatever `seq` returns."
    return rule


CELL_KIND = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}


def stacked_step(cell: LayerNode, features: int) -> tuple[Work, int]:
    """(work of one step, its output size) of a cell or a stack of cells, each cell fed the previous one's units."""
    if cell.type_name == "StackedRNNCells":
        total = Work()
        for inner in cell.args.cells:
            work, features = stacked_step(inner, features)
            total += work
        return total, features
    return cell_step(CELL_KIND[cell.type_name], cell.args, features), cell.args.units


def rnn(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """RNN over a cell (or a stack of cells): the cell's step per time step."""
    return stacked_step(a.cell, ins[0][-1])[0].times(ins[0][0])


def conv_lstm(kind: str) -> Rule:
    def rule(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
        """Per step, the input's convolution with the kernel `(*window, channels, 4 filters)` and the state's
        ('same', stride 1) with the recurrent kernel `(*window, filters, 4 filters)`, at each output position."""
        steps = ins[0][0]
        kernel, recurrent_kernel = w[0].shape, w[1].shape
        positions = prod(outs[0][1:-1] if a.return_sequences else outs[0][:-1])
        per_step = Work(positions * (prod(kernel) + prod(recurrent_kernel)),
                        positions * a.filters * (cell_ops(kind, a) + bias_ops(kind, a)))
        return per_step.times(steps)

    return rule


def _inner(node: LayerNode, shape: Dims) -> tuple[Dims, list[Weight]]:
    """A wrapped layer's output shape and weights on a per-sample input shape."""
    full = (None, *shape)
    out = node.kind.output(node.args, Tensor(full)).shape
    return tuple(out[1:]), node.kind.weights(node.args, full)  # type: ignore[return-value]


def layer_work(node: LayerNode, ins: Sequence[Dims], outs: Sequence[Dims] | None = None,
               weights: Sequence[Weight] | None = None) -> Work:
    """The work of one call of `node`; a wrapped layer's shapes and weights are inferred when not given."""
    if outs is None or weights is None:
        out, weights = _inner(node, ins[0])
        outs = (out,)
    return RULES[node.type_name](node.args, ins, outs, weights)


def bidirectional(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """The forward layer and the backward one, then the merge: none for concat, one op per element of a half's
    output for sum and mul, two for ave."""
    forward = a.layer
    backward = a.get("backward_layer") or forward
    half, _ = _inner(forward, ins[0])
    merge = {"concat": 0, "sum": 1, "mul": 1, "ave": 2}[a.merge_mode] * prod(half)
    return layer_work(forward, ins) + layer_work(backward, ins) + Work(0, merge)


def time_distributed(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """The wrapped layer once per time step."""
    return layer_work(a.layer, (ins[0][1:],)).times(ins[0][0])


def attention(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """Attention (dot): query-key scores, Tq Tv dim MACs, and the weighted sum of the values, Tq Tv dim_v; then a
    softmax (3 per score) and the scale. score_mode=concat and AdditiveAttention score with tanh(q + k), summed
    over the features (elementwise: an add, the tanh, the scale's product and the sum's add per term), so only the
    weighted sum is MACs."""
    q, v = ins[0], ins[1]
    k = ins[2] if len(ins) > 2 else v
    tq, tv, dim, dim_v = prod(q[:-1]), prod(v[:-1]), q[-1], v[-1]
    scores = tq * tv
    weighted = scores * dim_v
    softmax = 3 * scores
    additive = scores * k[-1] * (3 + bool(a.use_scale))
    if a.get("score_mode", "concat") == "dot":
        return Work(scores * dim + weighted, softmax + scores * bool(a.use_scale))
    return Work(weighted, softmax + additive + scores * (a.get("score_mode") == "concat"))


def multi_head_attention(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """The query, key, (gate,) value and output projections (each step times its kernel), the heads' scores
    (heads Tq Tv key_dim) and weighted sums (heads Tq Tv value_dim); the biases, the query's scaling, a softmax
    (3 per score) and the gate's sigmoid and product are ops."""
    q, v = ins[0], ins[1]
    tq, tv = prod(q[:-1]), prod(v[:-1])
    kernels = [weight.shape for weight in w if weight.name == "kernel"]
    gate = kernels[2] if a.use_gate else None
    value = kernels[3 if a.use_gate else 2]
    heads, key_dim, value_dim = a.num_heads, kernels[0][-1], value[-1]
    macs = tq * prod(kernels[0]) + tv * prod(kernels[1]) + tv * prod(value) + tq * prod(kernels[-1]) \
        + heads * tq * tv * (key_dim + value_dim) + (tq * prod(gate) if gate else 0)
    biases = 0
    if a.use_bias:
        biases = tq * heads * key_dim + tv * heads * (key_dim + value_dim) + tq * prod(kernels[-1][2:]) \
            + (tq * heads * value_dim if gate else 0)
    ops = biases + tq * heads * key_dim + 3 * heads * tq * tv + (2 * tq * heads * value_dim if gate else 0)
    return Work(macs, ops)


def layer_norm(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """Per element: the mean's add, the centring, the square and the variance's add, the divide by the deviation,
    then the scale and the shift."""
    return Work(0, prod(ins[0]) * (5 + bool(a.center) + bool(a.scale)))


def batch_norm(a: Args, ins: Sequence[Dims], outs: Sequence[Dims], w: Sequence[Weight]) -> Work:
    """At inference, per element: minus the moving mean, divided by the moving deviation, the scale, the shift."""
    return Work(0, prod(ins[0]) * (2 + bool(a.center) + bool(a.scale)))


def _pool_taps(a: Args) -> int:
    return prod(a.pool_size)


# One rule per registered layer type (tests/test_cost.py checks that every layer type has one).
RULES: dict[str, Rule] = {
    # no arithmetic
    **dict.fromkeys(("Input", "Embedding", "Dropout", "SpatialDropout1D", "Flatten", "RepeatVector", "Reshape",
                     "Permute", "Cropping1D", "ZeroPadding1D", "UpSampling1D", "GaussianNoise", "GaussianDropout",
                     "AlphaDropout", "ActivityRegularization", "Concatenate", "CategoryEncoding",
                     "TextVectorization"), free),
    "Masking": lambda a, ins, outs, w: Work(0, prod(ins[0])),  # one comparison per element
    "Dense": kernel_product, "Conv1D": kernel_product, "Conv2D": kernel_product,
    "Conv1DTranspose": transposed, "DepthwiseConv1D": depthwise, "SeparableConv1D": separable,
    "Activation": lambda a, ins, outs, w: Work(0, act_ops(a.activation) * prod(outs[0])),
    "ReLU": per_output(1), "LeakyReLU": per_output(1), "ELU": per_output(1), "PReLU": per_output(2),
    "Softmax": per_output(3),
    "MaxPooling1D": pooling(_pool_taps, False), "AveragePooling1D": pooling(_pool_taps, True),
    "MaxPooling2D": pooling(_pool_taps, False), "AveragePooling2D": pooling(_pool_taps, True),
    "GlobalMaxPooling1D": global_pooling(False), "GlobalAveragePooling1D": global_pooling(True),
    "GlobalMaxPooling2D": global_pooling(False), "GlobalAveragePooling2D": global_pooling(True),
    **{name: elementwise_merge(0) for name in ("Add", "Subtract", "Multiply", "Maximum", "Minimum")},
    "Average": elementwise_merge(1), "Dot": dot,
    "LayerNormalization": layer_norm, "BatchNormalization": batch_norm,
    "SimpleRNN": recurrent("SimpleRNN"), "LSTM": recurrent("LSTM"), "GRU": recurrent("GRU"), "RNN": rnn,
    "ConvLSTM1D": conv_lstm("ConvLSTM1D"), "ConvLSTM2D": conv_lstm("ConvLSTM2D"),
    **dict.fromkeys(("SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"), free),
    "Bidirectional": bidirectional, "TimeDistributed": time_distributed,
    "Attention": attention, "AdditiveAttention": attention, "MultiHeadAttention": multi_head_attention,
}


class Unknown(Exception):
    """A shape the cost needs is unknown even with every input's length set (a length the data decides)."""


def _known(shape: tuple) -> Dims:
    """A per-sample shape (batch dropped), every dimension known."""
    if any(d is None for d in shape[1:]):
        raise Unknown
    return tuple(shape[1:])


def call_cost(node: LayerNode, ins: Sequence[tuple], outs: Sequence[tuple], weights: Sequence[Weight]) -> Cost:
    """The cost of one call: its rule's work, and its outputs' elements (an input's tensor is given, not made)."""
    known_in, known_out = [_known(s) for s in ins], [_known(s) for s in outs]
    work = RULES[node.type_name](node.args, known_in, known_out, weights)
    elements = 0 if node.type_name == "Input" else sum(prod(s) for s in known_out)
    return Cost(work.macs, 2 * work.macs + work.ops, elements)


# ------------------------------------------------------------------ a model's costs at known lengths


Shapes = list[tuple[list[tuple], list[tuple]]]  # per call of a row: its input shapes and output shapes


def call_shapes(report: "ModelReport") -> list[Shapes]:
    """Per row of `report`, the shapes of each of its calls (a chain's row: one call, one input, one output)."""
    network = report.network
    if network is None:
        return [[([row.input_shape], [row.output_shape])] for row in report.rows]
    graph, tensors = network.graph, network.tensors
    per_row = []
    for row in report.rows:
        calls = []
        for index in row.calls:
            outs = [t.shape for t in tensors[index]]
            calls.append(([tensors[r.call][r.index].shape for r in graph.calls[index].inputs] or outs, outs))
        per_row.append(calls)
    return per_row


def row_costs(report: "ModelReport", shapes: list[Shapes] | None = None) -> list[Cost | None]:
    """Per row of `report` (which must have inferred), its cost on `shapes` (by default the report's own); None
    where a shape stays unknown."""
    costs: list[Cost | None] = []
    seen: dict[tuple, Cost] = {}  # a repeat's copies: one node on the same shapes, costed once
    for row, calls in zip(report.rows, call_shapes(report) if shapes is None else shapes):
        try:
            total = Cost(0, 0, 0)
            for ins, outs in calls:
                key = (id(row.node), *ins, None, *outs)
                if key not in seen:
                    seen[key] = call_cost(row.node, ins, outs, row.weights)
                total += seen[key]
            costs.append(total)
        except Unknown:
            costs.append(None)
    return costs


def _at(shapes: list[Shapes], length: int) -> list[Shapes]:
    """Every unknown dimension after the batch set to `length`."""
    memo: dict[tuple, tuple] = {}  # a model has few distinct shapes

    def fixed(shape: tuple) -> tuple:
        done = memo.get(shape)
        if done is None:
            done = memo[shape] = (shape[0], *(length if d is None else d for d in shape[1:]))
        return done

    return [[([fixed(s) for s in ins], [fixed(s) for s in outs]) for ins, outs in calls] for calls in shapes]


def _lengths_are_t(report: "ModelReport", shapes: list[Shapes]) -> bool:
    """Whether every unknown dimension of every row is T itself, as the model inferred again at two lengths
    shows: then a cost at any T is the rules on the shapes with T put in, with no inference again. A stride, a
    pooling or a window (ceil(T/2), T-2) or a length the data decides is not, and the model is inferred at
    each length instead."""
    for probe in (SAMPLES[0], CHECKS[-1]):
        again = at_length(report, probe)
        if again is None or call_shapes(again) != _at(shapes, probe):
            return False
    return True


def total_cost(report: "ModelReport", costs: Sequence[Cost | None]) -> Cost | None:
    """The model's cost: the rows, and the copies of a folded repeat (each like the copy listed)."""
    if any(c is None for c in costs):
        return None
    total = Cost(0, 0, 0)
    for c in costs:
        total += c  # type: ignore[operator]
    for fold in report.folds:
        copy = Cost(0, 0, 0)
        for c in costs[fold.first:fold.end]:
            copy += c  # type: ignore[operator]
        total += copy.times(fold.copies)
    return total


def has_unknown_length(report: "ModelReport") -> bool:
    """Whether some input has an unknown dimension after the batch (then counts depend on T)."""
    inputs = [t for _, t in report.inputs] if report.functional is not None else \
        ([report.input] if report.input is not None else [])
    return any(d is None for t in inputs for d in t.shape[1:])


def at_length(report: "ModelReport", length: int) -> "ModelReport | None":
    """The model inferred again with every unknown dimension after the batch of its inputs set to `length`;
    None if it does not infer so (a length too short for a convolution's window)."""
    def fixed(t: Tensor) -> Tensor:
        return Tensor((t.shape[0], *(length if d is None else d for d in t.shape[1:])), t.dtype)

    if report.functional is not None:
        from rnnspec.functional_infer import infer_functional

        again = infer_functional(report.functional, [fixed(t) for _, t in report.inputs])
    else:
        from rnnspec.infer import infer_graph

        assert report.graph is not None and report.input is not None
        again = infer_graph(replace(report.graph, input=fixed(report.input), assertions=[]))
    # a shape note written with None differs from the fixed length (E402): only the rows matter here
    if any(e.code != "E402" for e in again.errors) or len(again.rows) != len(report.rows):
        return None
    return again


# ------------------------------------------------------------------ counts as polynomials in T


class Figure(NamedTuple):
    """A count as a polynomial in T, `coefficients[i]` of T^i; `coefficients` None when the count is no
    polynomial in T (or unknown), so it is given only at a stated T."""

    coefficients: tuple[int, ...] | None

    @property
    def known(self) -> bool:
        return self.coefficients is not None

    @property
    def symbolic(self) -> bool:
        return self.coefficients is not None and len(self.coefficients) > 1

    def at(self, length: int) -> int | None:
        if self.coefficients is None:
            return None
        return sum(c * length ** i for i, c in enumerate(self.coefficients))

    def text(self) -> str:
        """`6,144·T + 2,080`; `?` when there is no formula."""
        return format_polynomial(self.coefficients)

    def scaled(self, n: int) -> "Figure":
        return Figure(None if self.coefficients is None else tuple(c * n for c in self.coefficients))

    @staticmethod
    def total(figures: Sequence["Figure"]) -> "Figure":
        """The sum of figures (None if any is)."""
        total: list[int] = [0]
        for figure in figures:
            if figure.coefficients is None:
                return Figure(None)
            total += [0] * (len(figure.coefficients) - len(total))
            for i, c in enumerate(figure.coefficients):
                total[i] += c
        return Figure(tuple(total))


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_polynomial(coefficients: Sequence[int] | None) -> str:
    if coefficients is None:
        return "?"
    terms = []
    for power in range(len(coefficients) - 1, -1, -1):
        c = coefficients[power]
        if c == 0 and (power or terms):
            continue
        symbol = "" if power == 0 else "T" if power == 1 else "T" + str(power).translate(_SUPERSCRIPTS)
        magnitude = f"{abs(c):,}"
        body = symbol if symbol and abs(c) == 1 else f"{magnitude}·{symbol}" if symbol else magnitude
        terms.append(("- " if c < 0 else "+ ") + body if terms else ("-" if c < 0 else "") + body)
    return " ".join(terms)


# Lengths a count is fitted at, consecutive (see _fit): degree up to 4 (T^2 attention, T^3 ConvLSTM2D).
SAMPLES = tuple(range(1000, 1005))
CHECKS = (1005, 1006, 1007, 1009, 1331, 2048, 3001)  # lengths the fit must also give: catches ceil(T/2) and the like


def fit(values: Sequence[int | None], checks: Sequence[int | None]) -> Figure:
    """The polynomial through (SAMPLES, values), if it has integer coefficients and gives `checks` at CHECKS."""
    if any(v is None for v in values) or any(v is None for v in checks):
        return Figure(None)
    return _fit(tuple(values), tuple(checks))  # type: ignore[arg-type]


@lru_cache(maxsize=4096)  # a repeat's copies have the same counts: one fit for all
def _fit(values: tuple[int, ...], checks: tuple[int, ...]) -> Figure:
    """Newton's forward differences on the consecutive SAMPLES, in integers: f(x0 + s) = sum of d_k C(s, k), each
    C(T - x0, k) expanded in powers of T, all scaled by (n-1)! so that only the final division can leave a
    fraction (which refuses the fit)."""
    x0, n = SAMPLES[0], len(SAMPLES)
    scale = math.factorial(n - 1)
    row, total, basis = list(values), [0] * n, [1]  # basis: the product of (T - x0 - j) for j < k
    for k in range(n):
        if row[0]:
            factor = row[0] * (scale // math.factorial(k))
            for i, c in enumerate(basis):
                total[i] += factor * c
        row = [b - a for a, b in zip(row, row[1:])]
        basis = [(basis[i - 1] if i else 0) - (x0 + k) * (basis[i] if i < len(basis) else 0)
                 for i in range(len(basis) + 1)]
    if any(c % scale for c in total):
        return Figure(None)
    coefficients = [c // scale for c in total]
    while len(coefficients) > 1 and coefficients[-1] == 0:
        coefficients.pop()
    figure = Figure(tuple(coefficients))
    if any(figure.at(x) != v for x, v in zip(CHECKS, checks)):
        return Figure(None)
    return figure


class CostFigures(NamedTuple):
    """MACs, FLOPs, output elements and bytes, each a Figure."""

    macs: Figure
    flops: Figure
    elements: Figure

    @property
    def bytes(self) -> Figure:
        c = self.elements.coefficients
        return Figure(None if c is None else tuple(x * BYTES_PER_ELEMENT for x in c))


class ModelCost(NamedTuple):
    """A model's costs: per row of its report and in total, as polynomials in T (constants when every length is
    known). `length_dependent` says whether T occurs at all (some input has an unknown length)."""

    rows: list[CostFigures]
    total: CostFigures
    length_dependent: bool
    approximate: bool  # some figure has no formula in T: give it at a stated T


def _figures(samples: list[Cost | None], checks: list[Cost | None]) -> CostFigures:
    return CostFigures(*(fit([None if c is None else c[i] for c in samples],
                             [None if c is None else c[i] for c in checks]) for i in range(3)))


def _constant(c: Cost | None) -> CostFigures:
    return CostFigures(*(Figure(None if c is None else (c[i],)) for i in range(3)))


def model_cost(report: "ModelReport") -> ModelCost:
    """Costs of an inferred report: at its shapes when every length is known; otherwise fitted in T."""
    from rnnspec.parser import cyclic_gc_paused

    with cyclic_gc_paused():  # shapes and costs hold no cycles: the collector's passes would only cost time
        return _model_cost(report)


def _model_cost(report: "ModelReport") -> ModelCost:
    if not has_unknown_length(report):
        costs = row_costs(report)
        rows = [_constant(c) for c in costs]
        total = _constant(total_cost(report, costs))
        return ModelCost(rows, total, False, not all(f.macs.known for f in rows))
    per_length: dict[int, tuple[list[Cost | None], Cost | None]] = {}
    shapes = call_shapes(report)
    substitute = _lengths_are_t(report, shapes)
    for length in (*SAMPLES, *CHECKS):
        if substitute:
            costs = row_costs(report, _at(shapes, length))
            per_length[length] = (costs, total_cost(report, costs))
            continue
        again = at_length(report, length)
        if again is None:
            costs: list[Cost | None] = [None] * len(report.rows)
            per_length[length] = (costs, None)
        else:
            costs = row_costs(again)
            per_length[length] = (costs, total_cost(again, costs))
    rows = [_figures([per_length[x][0][i] for x in SAMPLES], [per_length[x][0][i] for x in CHECKS])
            for i in range(len(report.rows))]
    total = _figures([per_length[x][1] for x in SAMPLES], [per_length[x][1] for x in CHECKS])
    approximate = not total.macs.known or any(not f.macs.known for f in rows)
    return ModelCost(rows, total, True, approximate)


def cost_at(report: "ModelReport", length: int | None) -> tuple[list[Cost | None], Cost | None]:
    """Per-row costs and the total at T=`length` (exact, whatever the strides); at the report's own shapes when
    `length` is None or no input has an unknown length."""
    if length is not None and has_unknown_length(report):
        again = at_length(report, length)
        if again is None:
            return [None] * len(report.rows), None
        report = again
    costs = row_costs(report)
    return costs, total_cost(report, costs)
