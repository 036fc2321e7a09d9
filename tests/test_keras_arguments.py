"""Every Keras 3 constructor argument of every layer rnnspec has: known to rnnspec (or refused with a reason),
passed to Keras, and followed by the NumPy backend where it changes fresh weights.

The parity cases here (PARITY_CASES, FUNCTIONAL_PARITY_CASES) set each argument this issue added to a
non-default value; tests/test_parity.py's coverage test collects them.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np
import pytest

import rnnspec
from rnnspec.errors import RnnspecError
from rnnspec.layers.base import aliases, registry
from tests.test_parity import assert_functional_parity, assert_parity, case, fcase

# Keras arguments no layer type lists, each for a reason:
EXCLUDED = {
    "self": "not an argument",
    "kwargs": "Layer's own arguments are checked one by one below",
    "input_dim": "Layer's deprecated input_dim/input_shape (Keras warns: use an Input first); Embedding's input_dim "
                 "is its own argument",
    "input_shape": "Layer's deprecated input_shape: a spec starts with Input(...)",
}
# The arguments Keras's Layer takes through **kwargs, which every layer (bar the exceptions below) accepts.
LAYER_KWARGS = ("activity_regularizer", "trainable", "dtype", "autocast", "name")
# Layers whose Keras class does not take **kwargs, or applies one of them in a way rnnspec refuses (see `unsupported`).
NO_LAYER_KWARGS = {"SpatialDropout1D"}
# Arguments of a base class (not Layer) that a class takes through its **kwargs: BaseConv's LoRA.
PASSED_ON = {"Conv1D": ("lora_rank", "lora_alpha")}


def keras_arguments(keras: Any, name: str) -> tuple[list[str], list[str]]:
    """Keras's constructor arguments for the layer: those its class names, in order, and those it passes on through
    **kwargs to its base classes (Conv1D's lora_rank) and to Layer (name, dtype, ...)."""
    if name == "Input":
        return list(inspect.signature(keras.Input).parameters), []
    cls = getattr(keras.layers, name)
    params = inspect.signature(cls.__init__).parameters
    named = [p for p in params if p not in ("self", "kwargs")]
    passed: list[str] = []
    if "kwargs" in params and name not in NO_LAYER_KWARGS:
        for argument in PASSED_ON.get(name, ()):  # a base class's argument the class passes on
            assert any(argument in inspect.signature(base.__init__).parameters for base in cls.__mro__[1:]
                       if "__init__" in base.__dict__), (name, argument)
            passed.append(argument)
        passed += [p for p in LAYER_KWARGS if p not in named]
    if name == "Embedding":
        passed.append("input_length")  # popped from **kwargs with a deprecation warning
    return named, passed


# the layer types of the families this test covers (other families have their own tests)
FAMILIES = ("core", "conv", "normalization", "recurrent", "wrapper", "merge")


# the modules of these families (other engineers add layer types of the same families in modules of their own)
MODULES = tuple(f"rnnspec.layers.{m}" for m in ("core", "conv", "normalization", "recurrent", "wrappers", "merge"))


def own_types() -> list[str]:
    return sorted(n for n, k in registry().items() if type(k).__module__ in MODULES)


@pytest.mark.keras
@pytest.mark.parametrize("name", own_types())
def test_every_keras_argument_is_known_or_refused_with_a_reason(name: str) -> None:
    import keras

    kind = registry()[name]
    known = {p.name for p in kind.params}
    named, passed = keras_arguments(keras, name)
    wanted = named + passed
    missing = [a for a in wanted if a not in known and a not in kind.unsupported]
    assert missing == [], f"{name}: Keras takes {missing}"
    assert not set(known) & set(kind.unsupported), "an argument both taken and refused"
    assert set(kind.unsupported) <= set(wanted), "a refusal for an argument Keras does not take"
    in_keras = [p.name for p in kind.params if p.name in named]
    assert in_keras == [a for a in named if a in known], f"{name}: not in Keras's order"
    extra = [p.name for p in kind.params if p.name not in wanted]
    assert extra == [], f"{name}: arguments Keras does not take: {extra}"


@pytest.mark.keras
def test_the_aliases_are_keras_aliases_of_the_same_class() -> None:
    import keras

    for alias, name in aliases().items():
        if registry()[name].family in FAMILIES:
            assert getattr(keras.layers, alias) is getattr(keras.layers, name)
    for attr in dir(keras.layers):
        cls = getattr(keras.layers, attr)
        if isinstance(cls, type) and cls.__name__ != attr and cls.__name__ in own_types():
            assert aliases().get(attr) == cls.__name__, f"keras.layers.{attr} is {cls.__name__}"


# ---------------------------------------------------------------- the objects reach Keras and NumPy

# (layer spec with {} for the arguments, its input, the weight prefixes of its weight arguments)
OBJECT_LAYERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "Dense": ("Dense(4{})", "Input(5, 3)", ("kernel", "bias")),
    "Embedding": ("Embedding(20, 4{})", "", ("embeddings",)),
    "Conv1D": ("Conv1D(4, 2{})", "Input(6, 3)", ("kernel", "bias")),
    "SimpleRNN": ("SimpleRNN(4{})", "Input(5, 3)", ("kernel", "recurrent", "bias")),
    "LSTM": ("LSTM(4, unit_forget_bias=false{})", "Input(5, 3)", ("kernel", "recurrent", "bias")),
    "GRU": ("GRU(4{})", "Input(5, 3)", ("kernel", "recurrent", "bias")),
    "LayerNormalization": ("LayerNormalization(-1{})", "Input(5, 3)", ("beta", "gamma")),
    "BatchNormalization": ("BatchNormalization(-1{})", "Input(5, 3)", ("beta", "gamma")),
}


def test_every_layer_with_weight_arguments_is_in_the_object_table() -> None:
    from rnnspec.layers.objects import ObjectArg

    with_objects = {n for n in own_types() if any(isinstance(p.type, ObjectArg) and p.name != "activity_regularizer"
                                                  for p in registry()[n].params)}
    assert with_objects == set(OBJECT_LAYERS)


def _object_args(name: str) -> str:
    prefixes = OBJECT_LAYERS[name][2]
    parts = [f"{prefixes[0]}_initializer=Constant(0.25)", f"{prefixes[0]}_regularizer=L2(1e-4)",
             f"{prefixes[0]}_constraint=MaxNorm(3)"]
    parts += [f"{p}_initializer=ones, {p}_regularizer=L1(0.02), {p}_constraint=non_neg" for p in prefixes[1:]]
    if name == "BatchNormalization":
        parts.append("moving_mean_initializer=Constant(0.5), moving_variance_initializer=RandomNormal(stddev=0.01)")
    if "activity_regularizer" in registry()[name].param_table:
        parts.append("activity_regularizer=L1L2(l1=0.01, l2=0.02)")
    return ", " + ", ".join(parts)


def _spec(name: str) -> str:
    layer, first, _ = OBJECT_LAYERS[name]
    written = layer.format(_object_args(name))
    return f"{first} > {written}" if first else written


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(OBJECT_LAYERS))
def test_keras_layers_carry_the_objects_written(name: str) -> None:
    model = rnnspec.compile(_spec(name))
    config = model.layers[-1].get_config()
    first = OBJECT_LAYERS[name][2][0]

    def obj(key: str) -> tuple[str, dict[str, Any]]:
        value = config[key]
        return value["class_name"], value["config"]

    assert obj(f"{first}_initializer")[0] == "Constant" and obj(f"{first}_initializer")[1]["value"] == 0.25
    assert obj(f"{first}_regularizer") == ("L2", {"l2": pytest.approx(1e-4)})
    assert obj(f"{first}_constraint")[0] == "MaxNorm" and obj(f"{first}_constraint")[1]["max_value"] == 3
    for prefix in OBJECT_LAYERS[name][2][1:]:
        assert obj(f"{prefix}_initializer")[0] == "Ones"
        assert obj(f"{prefix}_regularizer") == ("L1", {"l1": pytest.approx(0.02)})
        assert obj(f"{prefix}_constraint")[0] == "NonNeg"
    if name == "SimpleRNN":  # Keras 3.15's SimpleRNN takes activity_regularizer and never passes it on
        assert config["activity_regularizer"] is None
    elif "activity_regularizer" in config:
        assert obj("activity_regularizer")[0] == "L1L2"
    # Keras's own fresh weights follow the initialisers too
    weights = {w.name: np.asarray(w) for w in model.layers[-1].weights}
    assert np.all(weights[first] == 0.25)


@pytest.mark.parametrize("name", sorted(OBJECT_LAYERS))
def test_numpy_fresh_weights_follow_the_initialisers(name: str) -> None:
    model = rnnspec.compile(_spec(name), backend="numpy")
    weights = dict(zip(model.weight_names(), model.get_weights()))
    prefixes = OBJECT_LAYERS[name][2]
    for key, value in weights.items():
        weight = key.rsplit("/", 1)[1]
        if weight.startswith(prefixes[0]) and not weight.startswith("recurrent") or weight == "embeddings":
            assert np.all(value == 0.25), key
        elif weight == "recurrent_kernel" or any(weight == p for p in prefixes[1:]):
            assert np.all(value == 1.0), key
        elif weight == "moving_mean":
            assert np.all(value == 0.5), key


def test_numpy_random_normal_has_the_standard_deviation_written() -> None:
    model = rnnspec.compile("Input(50, 40) > Dense(400, kernel_initializer=RandomNormal(stddev=0.01))",
                            backend="numpy")
    kernel = model.get_weights()[0]
    assert abs(float(kernel.std()) - 0.01) < 0.001 and abs(float(kernel.mean())) < 0.001


# ---------------------------------------------------------------- parity: each new argument set

def _generic(keras_name: str, number: int = 7) -> tuple[str, dict[str, Any]]:
    """Layer's own arguments set (written, Keras keywords); the name keeps Keras's pattern for assert_parity."""
    return (f"trainable=false, dtype=float64, autocast=false, name={keras_name}_{number}",
            {"trainable": False, "dtype": "float64", "autocast": False, "name": f"{keras_name}_{number}"})


Make = Callable[[Any, dict[str, Any]], list[Any]]

# (layer type, spec with {} for the arguments, Keras list with **kw)
SEQUENTIAL: list[tuple[str, str, Make]] = [
    ("Dense", "Input(5, 3) > Dense(4, lora_rank=2, lora_alpha=4{})",
     lambda L, kw: [L.Input((5, 3)), L.Dense(4, lora_rank=2, lora_alpha=4, **kw)]),
    ("Embedding", "Embedding(20, 4, lora_rank=2, lora_alpha=1{})",
     lambda L, kw: [L.Input((None,), dtype="int32"), L.Embedding(20, 4, lora_rank=2, lora_alpha=1, **kw)]),
    ("Conv1D", "Input(6, 3) > Conv1D(4, 2, lora_rank=2, lora_alpha=6{})",
     lambda L, kw: [L.Input((6, 3)), L.Conv1D(4, 2, lora_rank=2, lora_alpha=6, **kw)]),
    ("Activation", "Input(5, 3) > Activation(relu{})", lambda L, kw: [L.Input((5, 3)), L.Activation("relu", **kw)]),
    ("Dropout", "Input(5, 3) > Dropout(0.2, noise_shape=(None, 1, 3), seed=4{})",
     lambda L, kw: [L.Input((5, 3)), L.Dropout(0.2, noise_shape=(None, 1, 3), seed=4, **kw)]),
    ("Masking", "Input(5, 3) > Masking(1.5{})", lambda L, kw: [L.Input((5, 3)), L.Masking(1.5, **kw)]),
    ("Flatten", "Input(5, 3) > Flatten(data_format=channels_first{})",
     lambda L, kw: [L.Input((5, 3)), L.Flatten(data_format="channels_first", **kw)]),
    ("RepeatVector", "Input(3) > RepeatVector(2{})", lambda L, kw: [L.Input((3,)), L.RepeatVector(2, **kw)]),
    ("Reshape", "Input(6) > Reshape((2, 3){})", lambda L, kw: [L.Input((6,)), L.Reshape((2, 3), **kw)]),
    ("MaxPooling1D", "Input(6, 3) > MaxPooling1D(2{})", lambda L, kw: [L.Input((6, 3)), L.MaxPooling1D(2, **kw)]),
    ("AveragePooling1D", "Input(6, 3) > AveragePooling1D(2{})",
     lambda L, kw: [L.Input((6, 3)), L.AveragePooling1D(2, **kw)]),
    ("GlobalMaxPooling1D", "Input(6, 3) > GlobalMaxPooling1D({})",
     lambda L, kw: [L.Input((6, 3)), L.GlobalMaxPooling1D(**kw)]),
    ("GlobalAveragePooling1D", "Input(6, 3) > GlobalAveragePooling1D({})",
     lambda L, kw: [L.Input((6, 3)), L.GlobalAveragePooling1D(**kw)]),
    ("LayerNormalization", "Input(5, 3) > LayerNormalization(-1{})",
     lambda L, kw: [L.Input((5, 3)), L.LayerNormalization(-1, **kw)]),
    ("BatchNormalization", "Input(5, 3) > BatchNormalization(renorm_momentum=0.9, synchronized=true{})",
     lambda L, kw: [L.Input((5, 3)), L.BatchNormalization(renorm_momentum=0.9, synchronized=True, **kw)]),
    ("SimpleRNN", "Input(5, 3) > SimpleRNN(4, seed=3{})", lambda L, kw: [L.Input((5, 3)), L.SimpleRNN(4, seed=3, **kw)]),
    ("LSTM", "Input(5, 3) > LSTM(4, seed=3, use_cudnn=false{})",
     lambda L, kw: [L.Input((5, 3)), L.LSTM(4, seed=3, use_cudnn=False, **kw)]),
    ("GRU", "Input(5, 3) > GRU(4, seed=3, use_cudnn=false{})",
     lambda L, kw: [L.Input((5, 3)), L.GRU(4, seed=3, use_cudnn=False, **kw)]),
]


def _sequential_cases() -> list[Any]:
    from rnnspec.layers.base import snake_case

    cases = []
    for name, spec, make in SEQUENTIAL:
        written, kwargs = _generic(snake_case(name))
        if name in ("Activation", "Masking", "Reshape", "RepeatVector", "LayerNormalization", "MaxPooling1D",
                    "AveragePooling1D") or "({}" not in spec:
            written = ", " + written
        cases.append(case(spec.format(written), lambda L, make=make, kwargs=kwargs: make(L, kwargs)))
    # the layers that take only some of Layer's arguments, and the wrappers (no trainable: see wrappers.py)
    cases += [
        case("Input(5, 3) > SpatialDropout1D(0.2, seed=1, name=spatial_dropout1d_7, dtype=float64)",
             lambda L: [L.Input((5, 3)), L.SpatialDropout1D(0.2, seed=1, name="spatial_dropout1d_7", dtype="float64")]),
        case("Input(5, 3) > Bidirectional(LSTM(2), dtype=float64, autocast=false, name=bidirectional_7)",
             lambda L: [L.Input((5, 3)), L.Bidirectional(L.LSTM(2), dtype="float64", autocast=False,
                                                         name="bidirectional_7")]),
        case("Input(5, 3) > TimeDistributed(Dense(2), dtype=float64, autocast=false, name=time_distributed_7)",
             lambda L: [L.Input((5, 3)), L.TimeDistributed(L.Dense(2), dtype="float64", autocast=False,
                                                           name="time_distributed_7")]),
        case("Embedding(20, 4, input_length=10)", lambda L: [L.Input((None,), dtype="int32"), L.Embedding(20, 4)]),
        case("Input(5, 3) > MaxPool1D(2) > GlobalAvgPool1D", lambda L: [L.Input((5, 3)), L.MaxPooling1D(2),
                                                                     L.GlobalAveragePooling1D()]),
    ]
    return cases


PARITY_CASES = _sequential_cases()


def _merge_case(merge: str, keras_args: tuple[Any, ...], written: str) -> Any:
    from rnnspec.layers.base import snake_case

    generic, kwargs = _generic(snake_case(merge))

    def build(K: Any, L: Any) -> tuple[list[Any], list[Any]]:
        a, b = K.Input((5, 4)), K.Input((5, 4))
        return [a, b], [getattr(L, merge)(*keras_args, **kwargs)([a, b])]

    return fcase(f"a = Input(5, 4)\nb = Input(5, 4)\n(a, b) > {merge}({written}{generic})", build)


FUNCTIONAL_PARITY_CASES = [
    *(_merge_case(m, (), "") for m in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")),
    _merge_case("Concatenate", (1,), "1, "),
    _merge_case("Dot", (2,), "2, "),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), PARITY_CASES)
def test_new_arguments_build_as_in_keras(spec: str, build: Any) -> None:
    assert_parity(spec, build)


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), FUNCTIONAL_PARITY_CASES)
def test_layer_arguments_on_merges_build_as_in_keras(spec: str, build: Any) -> None:
    assert_functional_parity(spec, build)


@pytest.mark.keras
@pytest.mark.parametrize("spec", [
    "Input(5, 3) > Dense(4, lora_rank=2, lora_alpha=6)",  # Keras 3.15 builds Dense with alpha = rank
    "Input(4, dtype=int32) > Embedding(20, 4, lora_rank=2, lora_alpha=1)",  # and Embedding too
    "Input(6, 3) > Conv1D(4, 2, lora_rank=2, lora_alpha=4)",
    "Input(5, 3) > Dense(6) > Reshape((2, 5, 3)) > Flatten(data_format=channels_first)",
    "Input(4) > Embedding(9, 3)",
    "Input(5, 3) > Dense(4, dtype=float64) > LSTM(3, dtype=float16) > Dense(2, autocast=false)",
])
def test_numpy_computes_these_arguments_as_keras(spec: str) -> None:
    """lora_alpha scales Conv1D's LoRA product (not Dense's or Embedding's: Keras resets it); channels_first flattens channels last; float ids are truncated. A layer's
    `dtype=` is passed to Keras, while NumPy computes every layer in the model's dtype: float16 in Keras stays
    within float16's precision of NumPy's float32 (the limit this test documents)."""
    keras_model = rnnspec.compile(spec)
    numpy_model = rnnspec.compile(spec, backend="numpy")
    for layer in keras_model.layers:  # the LoRA factors start at zero in Keras: give them values
        for w in layer.weights:
            if w.name.startswith("lora_"):
                w.assign(np.random.default_rng(1).normal(size=w.shape).astype(w.dtype))
    numpy_model.set_weights([np.asarray(w) for w in keras_model.weights])
    shape = keras_model.inputs[0].shape
    rng = np.random.default_rng(0)
    x = (rng.uniform(0, 8.9, (2, *shape[1:])) if "Embedding" in spec else rng.normal(size=(2, *shape[1:]))
         ).astype(keras_model.inputs[0].dtype)
    tolerance = 2e-2 if "float16" in spec else 1e-5
    np.testing.assert_allclose(numpy_model(x), np.asarray(keras_model(x), "float32"), rtol=tolerance, atol=tolerance)


# ---------------------------------------------------------------- names, aliases, warnings and refusals

def _errors(text: str) -> list[RnnspecError]:
    return [e for report in rnnspec.check(text) for e in report.errors]


def test_a_given_name_is_the_layers_name_and_auto_names_skip_it() -> None:
    report = rnnspec.select("Input(5, 3) > Dense(4) > Dense(4, name=dense) > Dense(2, name=head)")
    assert [r.name for r in report.rows] == ["dense_1", "dense", "head"]
    model = rnnspec.compile("Input(5, 3) > Dense(4) > Dense(2, name=head)", backend="numpy")
    assert model.weight_names()[-1] == "head/bias"


@pytest.mark.keras
def test_keras_layers_take_the_given_names() -> None:
    model = rnnspec.compile("Input(5, 3) > Dense(4) > Dense(4, name=dense) > Dense(2, name='out')")
    assert [layer.name for layer in model.layers] == ["dense_1", "dense", "out"]


def test_a_name_given_twice_is_an_error_at_the_second() -> None:
    (err,) = _errors("Input(5, 3) > Dense(4, name=a)\n> Dense(2, name=a)")
    assert err.code == "E216" and "line 1" in err.message and err.span.line == 2 and err.hint
    (err,) = _errors("Input(5, 3) > Dense(3, name=a) x2")
    assert err.code == "E216" and "repeated 2 times" in err.message
    (err,) = _errors("x = Input(5, 3)\ny = x > Dense(3, name=x)")
    assert err.code == "E216"


def test_functional_names_skip_the_given_ones() -> None:
    report = rnnspec.select("x = Input(5, 3)\ny = x > Dense(3) > Dense(3, name=dense)")
    assert [r.name for r in report.rows] == ["x", "dense_1", "dense"]


def test_aliases_resolve_to_the_layer_type() -> None:
    report = rnnspec.select("Input(6, 3) > Convolution1D(4, 2) > MaxPool1D() > AvgPool1D(2) > GlobalMaxPool1D")
    assert [r.type for r in report.rows] == ["Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D"]
    assert rnnspec.select("Input(20, dtype=int) > Embedding(9, 2)").input.dtype == "int64"  # type: ignore[union-attr]


def test_float_values_into_embedding_are_a_warning() -> None:
    (report,) = rnnspec.check("Input(600) > Embedding(100, 8)")
    assert report.ok
    (warning,) = report.warnings
    assert warning.code == "W108" and warning.hint == "feed token ids: Input(600, dtype=int32)"
    (report,) = rnnspec.check("x = Input(600)\nx > Embedding(100, 8)")
    assert [w.code for w in report.warnings] == ["W108"]


def test_input_length_is_accepted_with_a_deprecation_warning() -> None:
    (report,) = rnnspec.check("Embedding(100, 8, input_length=20)")
    assert report.ok and [w.code for w in report.warnings] == ["W109"]


def test_an_argument_of_another_layer_says_whose_it_is() -> None:
    (err,) = _errors("Input(5, 3) > Dense(4, recurrent_initializer=orthogonal)")
    assert err.code == "E201" and "Keras argument of" in (err.hint or "") and "LSTM" in (err.hint or "")


def test_arguments_that_change_no_number_say_so_in_the_layer_reference() -> None:
    from rnnspec.layers.docs import describe

    text = describe(registry()["LSTM"])
    assert "recurrent_regularizer" in text and "no effect on shapes, counts or outputs" in text
    assert "use_cudnn" in text and "AvgPool1D" not in text
