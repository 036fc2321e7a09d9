"""rnnspec.cost against the NumPy backend: the multiply-accumulates its kernels actually perform on one sample must
add up to the static count, layer type by layer type, in chains and functional models; plus the formulas in T,
the assertions (E403), the JSON and `summary --cost`.

The counter wraps NumPy as the kernels see it: every array they make or receive is a `Counted` view, whose
`__array_ufunc__` counts `matmul` (and so `@`) and whose `__array_function__` counts `einsum`, `dot`, `tensordot`
(the contractions), each as the product of its operands' sizes over the summed axis. The recurrent kernels' fast
loop for narrow inputs ("augmented": `[h; x; 1]` times `[U; W; b]`) multiplies structural zeros and a column of ones
(the bias) as well; the tests turn it off (WIDE_INPUT = 0), which leaves the fast loop that batches the input
projection over time and the general step loop, both of which perform exactly the counted products.
"""
from __future__ import annotations

import math
import sys
import types
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import rnnspec
from rnnspec.cli import main
from rnnspec.cost import RULES, Figure, cost_at, fit, format_polynomial, model_cost
from rnnspec.layers.base import registry

MACS = [0]


def _matmul_macs(a: Any, b: Any) -> int:
    a_shape, b_shape = np.shape(a), np.shape(b)
    if len(a_shape) == 1:
        a_shape = (1, *a_shape)
    if len(b_shape) == 1:
        b_shape = (*b_shape, 1)
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    return math.prod(batch) * a_shape[-2] * a_shape[-1] * b_shape[-1]


def _einsum_macs(subscripts: str, *operands: Any) -> int:
    """The product of every index's size (each output element sums the products over the other indices)."""
    inputs = subscripts.replace(" ", "").split("->")[0].split(",")
    assert len(inputs) == 2 == len(operands), subscripts  # the kernels contract two operands at a time
    sizes: dict[str, int] = {}
    for letters, operand in zip(inputs, operands):
        sizes.update(zip(letters, np.shape(operand)))
    return math.prod(sizes.values())


def _plain(x: Any) -> Any:
    if isinstance(x, Counted):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(i) for i in x)
    return x


def _counted(x: Any) -> Any:
    if type(x) is np.ndarray:
        return x.view(Counted)
    if isinstance(x, (list, tuple)):
        return type(x)(_counted(i) for i in x)
    return x


class Counted(np.ndarray):
    """An array that counts the contractions it takes part in."""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if ufunc is np.matmul and method == "__call__":
            MACS[0] += _matmul_macs(*inputs[:2])
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"])
        return _counted(getattr(ufunc, method)(*_plain(inputs), **kwargs))

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        if func is np.einsum:
            MACS[0] += _einsum_macs(*args)
        elif func in (np.dot, np.tensordot, np.inner, np.vdot, np.outer, np.kron):
            raise AssertionError(f"count {func.__name__} too")  # the kernels use none of them today
        return _counted(func(*_plain(args), **_plain(kwargs)))


def _wrapped(function: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return _counted(function(*args, **kwargs))

    return call


class CountingNumpy(types.ModuleType):
    """numpy as the backend's modules see it: functions return Counted arrays, so `@` on them is counted too;
    matmul and einsum called on plain arrays get Counted operands (and are counted by them)."""

    def __init__(self) -> None:
        super().__init__("numpy")

    def __getattr__(self, name: str) -> Any:
        value = getattr(np, name)
        if name in ("matmul", "einsum"):
            return lambda *args, **kwargs: getattr(np, name)(*_counted(args), **kwargs)
        if isinstance(value, (type, np.ufunc, types.ModuleType)) or not callable(value):
            return value
        return _wrapped(value)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> None:
    from rnnspec.backends.numpy.kernels import recurrent

    rnnspec.compile("Input(2) > Dense(1)", backend="numpy")  # every backend module imported
    proxy = CountingNumpy()
    for name, module in list(sys.modules.items()):
        if name.startswith("rnnspec.backends.numpy") and getattr(module, "np", None) is np:
            monkeypatch.setattr(module, "np", proxy)
    monkeypatch.setattr(recurrent, "WIDE_INPUT", 0)


def counted_macs(report: rnnspec.ModelReport, length: int) -> int:
    """The MACs the NumPy model performs on one sample whose unknown dimensions are `length`."""
    model = rnnspec.compile(report, backend="numpy")
    rng = np.random.default_rng(0)
    arrays = []
    specs = report.inputs if report.functional is not None else [(None, report.input)]
    for _, tensor in specs:
        shape = (1, *(length if d is None else d for d in tensor.shape[1:]))
        if tensor.dtype.startswith("int"):
            arrays.append(np.ones(shape, tensor.dtype))  # id 1: in every vocabulary, not padding
        elif tensor.dtype == "bool":
            arrays.append(np.ones(shape, bool))
        else:
            arrays.append(rng.normal(size=shape).astype("float32"))
    MACS[0] = 0
    model(arrays if len(arrays) > 1 else arrays[0])
    return MACS[0]


CHAINS = [
    "Input(3) > Dense(4)",
    "Input(20, 3) > Dense(4, activation=relu) x3 > Dense(2, use_bias=false)",
    "Input(5) > Dense(4, lora_rank=2) > Dense(3)",
    "Embedding(50, 8) > SimpleRNN(6, seq) x2 > SimpleRNN(5)",
    "Embedding(50, 8, mask_zero=true) > LSTM(6, seq) > GRU(5)",  # masked: the general step loop
    "Input(None, 4) > LSTM(6, seq) > LSTM(3, use_bias=false)",
    "Input(None, 4) > GRU(6, reset_after=false, seq) > GRU(3)",
    "Input(None, 4) > GRU(6, seq) > GRU(3, use_bias=false, backwards) > Dense(2)",
    "Input(None, 4) > SimpleRNN(3, activation=relu, seq) > LSTM(2, recurrent_activation=hard_sigmoid)",
    "Input(None, 5) > Bidirectional(LSTM(4, seq)) > Bidirectional(GRU(3), merge_mode=sum)",
    "Input(None, 5) > Bidirectional(LSTM(4, seq), backward_layer=GRU(4, seq, backwards), merge_mode=ave)",
    "Input(None, 5) > TimeDistributed(Dense(3)) > TimeDistributed(Dense(2)) > GlobalMaxPooling1D()",
    "Input(None, 4) > RNN(SimpleRNNCell(3), seq) > RNN((LSTMCell(3), GRUCell(2)))",
    "Input(None, 4) > RNN(StackedRNNCells((GRUCell(3, reset_after=false), SimpleRNNCell(2))))",
    "Input(None, 6) > Conv1D(4, 3, padding=same) > Conv1D(4, 3, strides=2) > MaxPooling1D(2) "
    "> GlobalAveragePooling1D() > Dense(2)",
    "Input(None, 6) > Conv1D(6, 3, groups=2, dilation_rate=2, padding=causal, activation=relu) > AveragePooling1D(2)",
    "Input(None, 6) > Conv1DTranspose(4, 3, strides=2) > DepthwiseConv1D(3, depth_multiplier=2) "
    "> SeparableConv1D(3, 3, depth_multiplier=2)",
    "Input(12, 12, 3) > Conv2D(4, (3, 3)) > Conv2D(2, 3, strides=2, padding=same) > MaxPooling2D() > Flatten() "
    "> Dense(3)",
    "Input(None, None, 2) > Conv2D(3, 2, groups=1) > GlobalAveragePooling2D()",
    "Input(None, 5, 3) > ConvLSTM1D(3, 3, padding=same, return_sequences=true) > ConvLSTM1D(2, 2)",
    "Input(None, 4, 4, 2) > ConvLSTM2D(2, (2, 2))",
    "Input(None, 4) > LayerNormalization() > BatchNormalization() > Dense(3, activation=softmax) > Dropout(0.1) "
    "> Softmax() > ReLU() > PReLU(shared_axes=1) > Masking() > Activation(tanh)",
    "Input(None, 4) > Permute((2, 1)) > ZeroPadding1D() > Cropping1D() > UpSampling1D() > Reshape((-1,))",
    "Input(4) > RepeatVector(3) > GRU(2, seq) > Flatten() > Dense(1)",
    "Input(None, 5, 3) > Bidirectional(ConvLSTM1D(2, 3, return_sequences=true), merge_mode=mul) "
    "> TimeDistributed(Conv1D(2, 2)) > TimeDistributed(Flatten()) > GRU(2)",
    "Input(None, 6) > Conv1D(4, 3, lora_rank=2, strides=2, padding=same) > Permute((2, 1)) "
    "> Conv1D(3, 2, data_format=channels_first)",
]

FUNCTIONAL = [
    """model m:
    q = Input(None, 4)
    v = Input(None, 4)
    (q, v) > Attention(use_scale=true)""",
    """model m:
    q = Input(None, 4)
    v = Input(None, 3)
    k = Input(None, 4)
    (q, v, k) > Attention(score_mode=concat)""",
    """model m:
    q = Input(None, 4)
    v = Input(None, 4)
    (q, v) > AdditiveAttention()""",
    """model m:
    q = Input(None, 4)
    v = Input(None, 6)
    k = Input(None, 5)
    (q, v, k) > MultiHeadAttention(2, 3, value_dim=5, use_gate=true, output_shape=7)""",
    """model m:
    x = Input(None, 6)
    (x, x) > MultiHeadAttention(3, 2, use_bias=false)""",
    """model m:
    a = Input(None, 4)
    b = Input(None, 4)
    (a, b) > Dot(axes=2)""",
    """model m:
    a = Input(7, 4)
    b = Input(3, 4)
    (a > Flatten() > Dense(5), b > Flatten() > Dense(5)) > Dot(1, normalize=true)""",
    """model translator:
    encoder_inputs = Input(None, 7)
    decoder_inputs = Input(None, 9)
    _, h, c = encoder_inputs > LSTM(8, state)
    y, _, _ = decoder_inputs > LSTM(8, seq, state, initial_state=(h, c))
    y > Dense(9, activation=softmax)""",
    """model shared:
    a = Input(None, 5)
    b = Input(None, 5)
    encoder = GRU(4)
    (a > encoder, b > encoder) > Concatenate
    """,
    """model masked:
    q = Input(None, dtype=int32)
    x = q > Embedding(20, 4, mask_zero=true)
    m = Input(None, dtype=bool)
    y = x > LSTM(3, seq, mask=m)
    (y, x > Dense(3)) > Attention(use_causal_mask=true, return_attention_scores=true)""",
    """model merges:
    a = Input(None, 5)
    b = a > Dense(5)
    c = (a, b) > Add
    d = (a, b, c) > Average
    (c, d) > Multiply > Bidirectional(SimpleRNN(3))""",
]


@pytest.mark.parametrize("spec", CHAINS + FUNCTIONAL)
def test_static_macs_are_the_numpy_backends_products(counting: None, spec: str) -> None:
    report = rnnspec.select(spec)
    assert report.ok, report.errors
    for length in (9, 16):
        costs, total = cost_at(report, length)
        assert total is not None and all(c is not None for c in costs)
        assert counted_macs(report, length) == total.macs, (spec, length)
        assert total.flops >= 2 * total.macs


def test_the_counter_counts() -> None:
    """Not vacuous: the count is the hand count for a Dense, and a recurrent model performs products."""
    report = rnnspec.select("Input(3) > Dense(4)")
    assert cost_at(report, None)[1].macs == 12  # type: ignore[union-attr]


def test_recurrent_flops_by_hand() -> None:
    """LSTM(6) on 4 features, T steps: 2 x 4 gates x 6 units x (4 + 6) per step, plus per unit 4 bias adds, 3
    sigmoids, 2 tanh and the 4 products and sums of c and h (docs/cost.md)."""
    total = cost_at(rnnspec.select("Input(None, 4) > LSTM(6)"), 7)[1]
    assert total == (7 * 4 * 6 * 10, 7 * (2 * 4 * 6 * 10 + 6 * (4 + 3 + 2 + 4)), 6)


def test_counter_sees_the_recurrent_products(counting: None) -> None:
    report = rnnspec.select("Input(None, 4) > LSTM(6)")
    assert counted_macs(report, 5) == 5 * 4 * 6 * (4 + 6) > 0


def test_every_layer_type_has_a_rule() -> None:
    missing = sorted(set(registry()) - set(RULES))
    assert not missing, f"layer types without a cost rule (rnnspec/cost.py RULES): {missing}"


def test_no_math_costs_no_macs() -> None:
    report = rnnspec.select("Input(6, dtype=int32) > Embedding(100, 8) > Dropout(0.5) > Flatten() > Reshape((8, 6))")
    costs, total = cost_at(report, None)
    assert [c.macs for c in costs] == [0, 0, 0, 0]  # type: ignore[union-attr]
    assert [c.elements for c in costs] == [48] * 4  # type: ignore[union-attr]


# ------------------------------------------------------------------ formulas in T


@pytest.mark.parametrize("spec", [c for c in CHAINS + FUNCTIONAL if "None" in c])
def test_formula_gives_the_count_at_every_length(spec: str) -> None:
    report = rnnspec.select(spec)
    cost = model_cost(report)
    assert cost.length_dependent
    for length in (12, 19, 50):
        costs, total = cost_at(report, length)
        for figures, exact in zip([*cost.rows, cost.total], [*costs, total]):
            assert exact is not None
            for figure, value in zip(figures, exact):
                assert figure.at(length) in (None, value)  # a formula, where there is one, is exact
    assert any(f.known for figures in cost.rows for f in figures)


def test_a_stride_on_an_unknown_length_has_no_formula() -> None:
    report = rnnspec.select("Input(None, 6) > Conv1D(4, 3, padding=same) > Conv1D(4, 3, strides=2) > LSTM(2)")
    cost = model_cost(report)
    assert cost.rows[0].macs.symbolic and not cost.rows[1].macs.known and not cost.total.macs.known
    assert cost.approximate
    assert cost_at(report, 10)[1].macs == cost_at(report, 10)[1].macs > 0  # type: ignore[union-attr]


def test_fit_refuses_a_step_function() -> None:
    from rnnspec.cost import CHECKS, SAMPLES

    assert fit([-(-x // 2) for x in SAMPLES], [-(-x // 2) for x in CHECKS]) == Figure(None)
    assert fit([3 * x * x + 2 for x in SAMPLES], [3 * x * x + 2 for x in CHECKS]) == Figure((2, 0, 3))


def test_formula_text() -> None:
    assert format_polynomial((2080, 6144)) == "6,144·T + 2,080"
    assert format_polynomial((0, 256, 16)) == "16·T² + 256·T"
    assert format_polynomial((-192, 96)) == "96·T - 192"
    assert format_polynomial((0,)) == "0"
    report = rnnspec.select("Embedding(10000, 32) > SimpleRNN(32, seq) x3 > SimpleRNN(32)")
    per_layer = 32 * 32 + 32 * 32
    assert model_cost(report).total.macs.text() == f"{4 * per_layer:,}·T"


def test_attention_is_quadratic_in_t() -> None:
    report = rnnspec.select(FUNCTIONAL[0])
    assert len(model_cost(report).total.macs.coefficients or ()) == 3


# ------------------------------------------------------------------ assertions


def _errors(text: str) -> list[Any]:
    return [e for r in rnnspec.check(text) for e in r.errors]


def test_expect_macs_and_flops_at_a_length() -> None:
    spec = "Embedding(100, 8) > GRU(4)"
    total = cost_at(rnnspec.select(spec), 100)[1]
    assert total is not None
    assert not _errors(f"{spec}\nexpect macs {total.macs:_} at T=100\nexpect flops {total.flops} at T=100")
    [error] = _errors(f"{spec}\nexpect macs {total.macs + 1} at T=100")
    assert error.code == "E403" and f"{total.macs:,}" in error.message and error.span.line == 2


def test_expect_macs_without_a_length_needs_one() -> None:
    [error] = _errors("Embedding(100, 8) > GRU(4)\nexpect macs 1000")
    assert error.code == "E403" and "at T=" in error.hint and "T" in error.message


def test_expect_macs_of_a_known_shape_needs_no_length() -> None:
    assert not _errors("Input(3) > Dense(4) expect macs 12 expect flops 28")  # 2 x 12 + 4 bias adds
    assert [e.code for e in _errors("Input(3) > Dense(4) expect flops 29")] == ["E403"]
    [error] = _errors("Input(3) > Dense(4) expect macs 12 at T=100")  # a length that changes nothing is refused
    assert error.code == "E403" and "no unknown length" in error.message and "at T=" not in (error.hint or "")


def test_expect_macs_in_a_functional_model() -> None:
    spec = FUNCTIONAL[3]
    total = cost_at(rnnspec.select(spec), 10)[1]
    assert not _errors(spec + f"\n    expect macs {total.macs} at T=10")  # type: ignore[union-attr]
    assert [e.code for e in _errors(spec + "\n    expect macs 1 at T=10")] == ["E403"]


@pytest.mark.parametrize("text,code", [
    ("Input(3) > Dense(4) expect params 16 at T=3", "E202"),
    ("Input(3) > Dense(4) expect macs 12 at N=3", "E202"),
    ("Input(3) > Dense(4) expect macs 12 on T=3", "E100"),
    ("Input(3) > Dense(4) expect macs 12 at T=0", "E203"),
    ("Input(3) > Dense(4) expect mac 12", "E209"),
])
def test_bad_cost_assertions(text: str, code: str) -> None:
    assert code in [e.code for e in _errors(text)]


def test_at_stays_a_name_elsewhere() -> None:
    assert not _errors("Input(3) > Dense(4, name=at)")


def test_fill_writes_the_cost_assertion_back() -> None:
    result = CliRunner().invoke(main, ["check", "--fill", "-e", "Input(None, 3) > GRU(2) expect macs 150 at T=5"])
    assert result.exit_code == 0, result.output
    assert "expect macs 150 at T=5" in result.output


# ------------------------------------------------------------------ outputs


def test_json_has_costs_per_layer_and_in_total() -> None:
    import json

    plain = json.loads(CliRunner().invoke(main, ["check", "--format", "json", "-e", "Input(3) > Dense(2)"]).output)
    assert "cost" not in plain["sources"][0]["models"][0]  # asked for: costs take longer than the check
    result = CliRunner().invoke(main, ["check", "--format", "json", "--cost", "-e", "Embedding(100, 8) > GRU(4)"])
    data = json.loads(result.output)
    model = data["sources"][0]["models"][0]
    report = rnnspec.select("Embedding(100, 8) > GRU(4)")
    cost = model_cost(report)
    assert model["cost"]["macs"] == list(cost.total.macs.coefficients)  # type: ignore[arg-type]
    assert model["cost"]["depends_on_length"] is True
    assert [layer["cost"]["macs"] for layer in model["layers"]] == [[0], [0, 3 * 4 * (8 + 4)]]
    assert model["layers"][1]["cost"]["output_bytes"] == [16]


def test_summary_cost_columns_and_totals() -> None:
    spec = "Embedding(100, 8) > GRU(4)"
    result = CliRunner().invoke(main, ["summary", "--cost", "-e", spec])
    assert result.exit_code == 0, result.output
    assert "MACs" in result.output and "144·T" in result.output
    at = CliRunner().invoke(main, ["summary", "--cost", "--at", "T=10", "-e", spec])
    assert "MACs per sample at T=10: 1,440" in at.output
    assert CliRunner().invoke(main, ["summary", "--at", "T=10", "-e", spec]).exit_code == 2


def test_check_without_cost_never_computes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import rnnspec.cost

    def fail(*args: Any) -> None:
        raise AssertionError("cost computed")

    monkeypatch.setattr(rnnspec.cost, "model_cost", fail)
    monkeypatch.setattr(rnnspec.cost, "cost_at", fail)
    assert rnnspec.check("Embedding(100, 8) > GRU(4) expect params 968")[0].ok


def test_the_augmented_loop_multiplies_the_bias_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """With its default WIDE_INPUT, the fast loop for narrow inputs multiplies `[h; x; 1]`: the products counted
    plus one per gate unit and step for the bias (docs/cost.md counts a bias as an add, not a MAC)."""
    from rnnspec.backends.numpy.kernels import recurrent

    monkeypatch.setattr(recurrent, "WIDE_INPUT", 2)  # the default, whatever another test did
    rnnspec.compile("Input(2) > Dense(1)", backend="numpy")
    proxy = CountingNumpy()
    for name, module in list(sys.modules.items()):
        if name.startswith("rnnspec.backends.numpy") and getattr(module, "np", None) is np:
            monkeypatch.setattr(module, "np", proxy)
    for spec, gates in (("Input(None, 4) > LSTM(6)", 4), ("Input(None, 4) > SimpleRNN(6)", 1)):
        report = rnnspec.select(spec)
        static = cost_at(report, 10)[1].macs  # type: ignore[union-attr]
        assert counted_macs(report, 10) == static + gates * 6 * 10


def test_costs_import_neither_numpy_nor_keras() -> None:
    import subprocess

    code = (
        "import sys\n"
        "from rnnspec.cli import main\n"
        "for argv in (['check', '--format', 'json', '--cost', '-e', 'Input(None, 2) > LSTM(4) expect macs 960 at T=10'],\n"
        "             ['summary', '--cost', '-e', 'Input(None, 2) > LSTM(4)']):\n"
        "    sys.argv = ['rnnspec', *argv]\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code, e.code\n"
        "print('HEAVY', sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'numpy'}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr
    assert '"macs": [' in proc.stdout and "MACs per sample: 96·T" in proc.stdout
