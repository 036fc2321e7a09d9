"""Initialisers, regularisers and constraints: rnnspec's table is Keras's, written names resolve as Keras resolves
them, and the NumPy backend draws from each initialiser with Keras's distribution."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from rnnspec.backends.numpy.init import draw
from rnnspec.errors import RnnspecError
from rnnspec.layers.objects import CLASSES, NAMES, KerasObject, ObjectArg
from rnnspec.parser import parse


def converted(kind: str, text: str) -> KerasObject | None:
    """`text` as the value of an argument of this kind (`x(v=<text>)` parsed, its value converted)."""
    call = parse(f"Dense(1, v={text})").models[0].chain.stages[0].element
    arg = ObjectArg(kind, nullable=kind != "initializer")  # as weight_arguments declares them
    return arg.convert("v", call.args[1].value, None)  # type: ignore[union-attr]


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("initializer", "glorot_uniform", KerasObject("initializer", "GlorotUniform")),
    ("initializer", "GlorotUniform()", KerasObject("initializer", "GlorotUniform")),
    ("initializer", "'normal'", KerasObject("initializer", "RandomNormal")),
    ("initializer", "RandomNormal(stddev=0.01)", KerasObject("initializer", "RandomNormal", (("stddev", 0.01),))),
    ("initializer", "RandomUniform(-0.1, 0.1, seed=3)",
     KerasObject("initializer", "RandomUniform", (("minval", -0.1), ("maxval", 0.1), ("seed", 3)))),
    ("initializer", "VarianceScaling(2.0, fan_out, uniform)",
     KerasObject("initializer", "VarianceScaling", (("scale", 2.0), ("mode", "fan_out"), ("distribution", "uniform")))),
    ("regularizer", "L2(1e-4)", KerasObject("regularizer", "L2", (("l2", 1e-4),))),
    ("regularizer", "l1l2", KerasObject("regularizer", "L1L2")),
    ("regularizer", "None", None),
    ("constraint", "MaxNorm(3)", KerasObject("constraint", "MaxNorm", (("max_value", 3.0),))),
    ("constraint", "non_neg", KerasObject("constraint", "NonNeg")),
])
def test_names_and_calls_are_read_as_keras_reads_them(kind: str, text: str, expected: KerasObject | None) -> None:
    assert converted(kind, text) == expected


@pytest.mark.parametrize(("kind", "text", "code", "hint"), [
    ("initializer", "glorot_unifrom", "E203", "did you mean 'glorot_uniform'?"),
    ("initializer", "RandomNormal(stdev=0.1)", "E201", "did you mean 'stddev'?"),
    ("initializer", "RandomNormal(0, 1, 2, 3)", "E206", None),
    ("initializer", "RandomNormal(stddev=-1)", "E203", None),
    ("initializer", "None", "E202", None),
    ("regularizer", "L22(0.1)", "E202", "did you mean 'L2'?"),
    ("initializer", "constant", "E203", None),
    ("constraint", "MaxNorm(max_value=relu)", "E202", None),
])
def test_a_wrong_object_is_a_located_error(kind: str, text: str, code: str, hint: str | None) -> None:
    with pytest.raises(RnnspecError) as err:
        converted(kind, text)
    assert err.value.code == code and err.value.span is not None
    if hint is not None:
        assert err.value.hint == hint


def test_a_written_object_is_written_back_the_same() -> None:
    for text in ("RandomNormal(stddev=0.01)", "orthogonal", "L1L2(l1=0.001, l2=0.01)", "max_norm"):
        assert converted("initializer" if text[0] in "Ro" else "regularizer" if text[0] == "L" else "constraint",
                         text).spec() == text  # type: ignore[union-attr]


@pytest.mark.keras
@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_the_table_is_keras_s_classes_and_arguments(kind: str) -> None:
    import keras

    module = {"initializer": keras.initializers, "regularizer": keras.regularizers,
              "constraint": keras.constraints}[kind]
    for name, params in CLASSES[kind].items():
        signature = inspect.signature(getattr(module, name).__init__)
        theirs = [(p.name, p.default) for p in signature.parameters.values()
                  if p.name != "self" and p.kind is not p.VAR_POSITIONAL and p.kind is not p.VAR_KEYWORD]
        assert [(p.name, p.default) for p in params] == theirs, name
    for written, name in NAMES[kind].items():
        assert type(module.get(written)).__name__ == name, written


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(CLASSES["initializer"]))
def test_numpy_draws_each_initializer_as_keras_does(name: str) -> None:
    """Same distribution: the mean and spread of many values agree (Keras's random stream is its own)."""
    import keras

    args = {"Constant": (("value", 0.7),), "Identity": (("gain", 2.0),), "Orthogonal": (("gain", 1.5),)}
    shape = (64, 64) if name in ("Identity", "Orthogonal") else (96, 80)
    obj = KerasObject("initializer", name, args.get(name, ()))
    ours = draw(obj, np.random.default_rng(0), shape)
    theirs = np.asarray(getattr(keras.initializers, name)(**dict(obj.args))(shape))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.mean(), theirs.mean(), atol=0.01)
    np.testing.assert_allclose(ours.std(), theirs.std(), rtol=0.05, atol=1e-6)
    if name in ("Zeros", "Ones", "Constant", "Identity"):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)  # Keras's are float32
    if name == "Orthogonal":
        np.testing.assert_allclose(ours @ ours.T, theirs @ theirs.T, atol=1e-4)


def test_a_seeded_initializer_draws_the_same_values_every_time() -> None:
    obj = KerasObject("initializer", "GlorotNormal", (("seed", 4),))
    first = draw(obj, np.random.default_rng(0), (5, 3))
    np.testing.assert_array_equal(first, draw(obj, np.random.default_rng(99), (5, 3)))
