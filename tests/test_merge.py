"""The merge layers (Add ... Concatenate, Dot) against Keras 3: shape rules, refusals, NumPy values and masks.

Every expected value comes from Keras: the output shape and dtype of the layer called on `keras.Input` tensors,
the exception Keras raises on shapes that do not combine (when the layer is built, or when it runs: Dot checks its
batch axis only then), and the values and mask of the layer called eagerly on arrays carrying masks. The few
calls Keras accepts but rnnspec refuses on purpose are listed, with a test that Keras still accepts them, so a
change on either side is noticed. The argument tests at the end need no Keras.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rnnspec.backends.numpy.base import Kernel, kernels, make_kernel
from rnnspec.errors import RnnspecError
from rnnspec.graph import resolve_call
from rnnspec.layers.base import LayerNode, ShapeError, Tensor, registry
from rnnspec.parser import parse
from rnnspec.shape import Shape

MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot")
RNG = np.random.default_rng(20240611)


def node(spec: str) -> LayerNode:
    """The resolved layer call `spec` (one call, as written in a chain)."""
    return resolve_call(parse(spec).models[0].chain.stages[0].element)


def rnnspec_outputs(spec: str, shapes: list[Shape]) -> tuple[Tensor, ...]:
    n = node(spec)
    return n.kind.outputs(n.args, tuple(Tensor(s) for s in shapes))


def keras_layer(spec: str) -> Any:
    """The Keras layer of the same name, built from rnnspec's `keras_kwargs` (so those are checked too)."""
    import keras

    n = node(spec)
    return getattr(keras.layers, n.type_name)(**n.kind.keras_kwargs(n.args))


def keras_inputs(shapes: list[Shape]) -> list[Any]:
    import keras

    return [keras.Input(shape=s[1:], batch_size=s[0]) for s in shapes]


def concrete(shapes: list[Shape]) -> list[tuple[int, ...]]:
    """Array sizes for the shapes: an unknown batch becomes the first known one (else 3), any other unknown 3."""
    batch = next((s[0] for s in shapes if s[0] is not None), 3)
    return [tuple(batch if d is None and i == 0 else 3 if d is None else d for i, d in enumerate(s)) for s in shapes]


def kernel(spec: str, shapes: list[Shape]) -> Kernel:
    kernels()  # importing the kernel package registers every family
    return make_kernel(node(spec), concrete(shapes)[0], np.dtype("float32"))


# ---------------------------------------------------------------- shapes: rnnspec's rule equals Keras's

SHAPES = [
    ("Add", [(None, 3, 4), (None, 3, 4)]),
    ("Add", [(None, 3, 4), (None, 4)]),                 # ranks differ: matched from the last axis
    ("Add", [(None, 1, 4), (None, 5, 1)]),              # 1 broadcasts both ways
    ("Add", [(None, None, 4), (None, 1, 4)]),           # unknown wins over 1
    ("Add", [(None, 1), (None, None)]),
    ("Add", [(None, 3), (None, 3), (None, 3)]),
    ("Add", [(None, 3), (2, 3)]),                       # the one known batch size
    ("Subtract", [(None, 5, 4), (None, 5, 4)]),
    ("Subtract", [(None, 5, 4), (None, 1)]),
    ("Multiply", [(None, None, 8), (None, None, 8)]),
    ("Multiply", [(None, 4), (None, 1), (None, 4)]),
    ("Average", [(None, 6, 2), (None, 6, 2), (None, 6, 2)]),
    ("Average", [(None, 2, 3, 4), (None, 3, 4)]),
    ("Maximum", [(None, 5, 3), (None, 5, 3)]),
    ("Maximum", [(None, 5, 3), (None, 3)]),
    ("Minimum", [(None, None, 3), (None, None, 3), (None, None, 3)]),
    ("Concatenate", [(None, 5, 3), (None, 5, 4)]),
    ("Concatenate", [(None, 3), (None, 4), (None, 1)]),
    ("Concatenate(axis=1)", [(None, 5, 4), (None, 3, 4)]),
    ("Concatenate(axis=1)", [(None, 5, 4), (None, None, 4)]),   # an unknown length makes the sum unknown
    ("Concatenate(1)", [(None, None, 4), (None, 3, 4)]),
    ("Concatenate(axis=-2)", [(None, 2, 4), (None, 3, 4)]),
    ("Concatenate", [(None, None, 4), (None, 3, 5)]),            # Keras keeps the first input's None
    ("Concatenate", [(None, 3), (2, 3)]),                       # ... and the first input's batch
    ("Dot(1)", [(None, 4), (None, 4)]),                          # two vectors: one score, (batch, 1)
    ("Dot(-1)", [(None, 3, 4), (None, 4)]),
    ("Dot(axes=2)", [(None, 3, 4), (None, 5, 4)]),
    ("Dot(axes=(1, 2))", [(None, 3, 5), (None, 10, 3)]),
    ("Dot(axes=(2, -1))", [(None, 3, 5), (None, 10, 5)]),
    ("Dot(axes=(1, 1))", [(None, None, 4), (None, None, 6)]),   # both unknown: Keras accepts
    ("Dot(axes=(-1, 1))", [(None, 2, 3, 4), (None, 4, 5)]),
    ("Dot(-1, normalize=true)", [(None, 6, 4), (None, 7, 4)]),
    ("Dot(axes=1, normalize)", [(None, 4), (None, 4)]),
]


def _id(case: tuple[str, list[Shape]]) -> str:
    return f"{case[0]}-{'+'.join(str(s) for s in case[1])}"


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "shapes"), SHAPES, ids=[_id(c) for c in SHAPES])
def test_output_shape_and_dtype_equal_keras(spec: str, shapes: list[Shape]) -> None:
    expected = keras_layer(spec)(keras_inputs(shapes))
    (got,) = rnnspec_outputs(spec, shapes)
    assert got.shape == tuple(expected.shape)
    assert got.dtype == expected.dtype


def test_the_shape_cases_cover_every_merge() -> None:
    assert {node(spec).type_name for spec, _ in SHAPES} == set(MERGES)
    assert {name for name, kind in registry().items() if kind.family == "merge"} == set(MERGES)


# ---------------------------------------------------------------- refusals: Keras and rnnspec refuse alike

REFUSED = [
    ("Add", [(None, 3, 4), (None, 3, 5)], "(None, 3, 4) and (None, 3, 5)"),
    ("Add", [(None, 5, 4), (None, 5)], "on axis -1 the sizes 4 and 5 differ"),
    ("Add", [(2, 3), (3, 3)], "different batch sizes"),
    ("Multiply", [(None, 2), (None, 2), (None, 3)], "(None, 2), (None, 2) and (None, 3)"),
    ("Maximum", [(None, 4, 2), (None, 3, 2)], "the sizes 4 and 3 differ"),
    ("Subtract", [(None, 3), (None, 3), (None, 3)], "exactly 2 tensors, but received 3"),
    ("Concatenate", [(None, 5, 3), (None, 6, 4)], "the sizes on axis 1 differ (5, 6)"),
    ("Concatenate", [(None, 5, 4), (None, 4)], "the same rank"),
    ("Concatenate(axis=1)", [(None, 1, 4), (None, 5, 3)], "the sizes on axis 2 differ (4, 3)"),
    ("Concatenate", [(2, 3), (3, 3)], "the batch sizes differ (2, 3)"),
    ("Concatenate(axis=3)", [(None, 5, 4), (None, 5, 4)], "out of range"),
    ("Concatenate(axis=-4)", [(None, 5, 4), (None, 5, 4)], "out of range"),
    ("Dot(1)", [(None, 4), (None, 5)], "sizes differ (4 and 5)"),
    ("Dot(1)", [(None, None, 4), (None, 4, 4)], "an unknown size does not equal a known one"),
    ("Dot(axes=(1, 3))", [(None, 3, 4), (None, 3, 4)], "out of range"),
    ("Dot(axes=2)", [(None, 3, 4), (None, 4)], "out of range"),
    ("Dot(-1)", [(None,), (None,)], "at least one axis after the batch"),
    ("Dot(-1)", [(2, 3), (3, 3)], "different batch sizes"),              # Keras: only when it runs
    ("Dot(axes=(-2, 1))", [(None, 3), (None, 3)], "is the batch axis"),   # Keras: only when it runs
    ("Dot(1)", [(None, 3), (None, 3), (None, 3)], "exactly 2 tensors, but received 3"),
]


def keras_refuses(spec: str, shapes: list[Shape]) -> bool:
    """Keras raises when the layer is called on `keras.Input`s, or else when it runs on arrays of those shapes."""
    try:
        keras_layer(spec)(keras_inputs(shapes))
    except Exception:  # noqa: BLE001 - Keras raises ValueError, IndexError or TypeError here
        return True
    try:
        keras_layer(spec)([RNG.normal(size=size).astype("float32") for size in concrete(shapes)])
    except Exception:  # noqa: BLE001
        return True
    return False


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "shapes", "said"), REFUSED, ids=[_id(c[:2]) for c in REFUSED])
def test_refused_by_keras_and_rnnspec(spec: str, shapes: list[Shape], said: str) -> None:
    assert keras_refuses(spec, shapes)
    with pytest.raises(ShapeError) as caught:
        rnnspec_outputs(spec, shapes)
    assert said in caught.value.message
    assert caught.value.hint


# Keras accepts these, rnnspec refuses them (see rnnspec/layers/merge.py): joining samples on the batch axis, an
# axis Keras wraps around the rank (-4 on a rank-3 input is axis 2), and a "merge" of a single tensor.
ACCEPTED_BY_KERAS_ONLY = [
    ("Concatenate(axis=-3)", [(None, 5, 4), (None, 5, 4)], "is the batch axis"),
    ("Dot(-4)", [(None, 3, 4), (None, 5, 4)], "out of range"),
    ("Add", [(None, 3)], "at least 2 tensors, but received 1"),
    ("Concatenate", [(None, 3)], "at least 2 tensors, but received 1"),
]


@pytest.mark.parametrize(("spec", "shapes", "said"), ACCEPTED_BY_KERAS_ONLY,
                         ids=[_id(c[:2]) for c in ACCEPTED_BY_KERAS_ONLY])
def test_refused_by_rnnspec_on_purpose(spec: str, shapes: list[Shape], said: str) -> None:
    with pytest.raises(ShapeError, match=said.replace("(", r"\(").replace(")", r"\)")):
        rnnspec_outputs(spec, shapes)


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "shapes", "said"), ACCEPTED_BY_KERAS_ONLY,
                         ids=[_id(c[:2]) for c in ACCEPTED_BY_KERAS_ONLY])
def test_keras_still_accepts_what_rnnspec_refuses_on_purpose(spec: str, shapes: list[Shape], said: str) -> None:
    assert not keras_refuses(spec, shapes)


# ---------------------------------------------------------------- NumPy values and masks equal Keras's


def random_mask(shape: tuple[int, ...]) -> np.ndarray:
    """A step mask with a gap, a padded tail and (in row 0) every step padded."""
    mask = RNG.random(shape) < 0.6
    mask[0] = False
    return mask


MASKINGS = {"none": (), "all": None, "first": (0,), "last": (-1,)}  # which rank-3 inputs carry a mask


def masks_for(arrays: list[np.ndarray], which: str) -> list[np.ndarray | None]:
    chosen = MASKINGS[which]
    picked = range(len(arrays)) if chosen is None else {i % len(arrays) for i in chosen}
    return [random_mask(x.shape[:-1]) if i in picked and x.ndim == 3 else None for i, x in enumerate(arrays)]


def keras_call(spec: str, arrays: list[np.ndarray], masks: list[np.ndarray | None]
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Keras's output, the mask it attaches to it, and `compute_mask` on the same inputs and masks."""
    import keras
    from keras.src.backend import get_keras_mask, set_keras_mask

    tensors, mask_tensors = [], []
    for x, m in zip(arrays, masks):
        tensor = keras.ops.convert_to_tensor(x)
        mask = None if m is None else keras.ops.convert_to_tensor(m)
        if mask is not None:
            set_keras_mask(tensor, mask)
        tensors.append(tensor)
        mask_tensors.append(mask)
    layer = keras_layer(spec)
    y = layer(tensors)
    attached = get_keras_mask(y)
    computed = layer.compute_mask(tensors, mask_tensors)
    return (np.asarray(y), None if attached is None else np.asarray(attached),
            None if computed is None else np.asarray(computed))


# every shape case unmasked; those with sequences (rank 3) also with masks on all, the first or the last input
VALUE_CASES = [(spec, shapes, which) for spec, shapes in SHAPES for which in MASKINGS
               if which == "none" or any(len(s) == 3 for s in shapes)]


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("spec", "shapes", "which"), VALUE_CASES, ids=[f"{_id(c[:2])}-{c[2]}" for c in VALUE_CASES])
def test_numpy_values_and_masks_equal_keras(spec: str, shapes: list[Shape], which: str) -> None:
    arrays = [RNG.normal(size=size).astype("float32") for size in concrete(shapes)]
    if node(spec).args.get("normalize"):
        arrays[0][0] = 0.0  # zero vectors stay zero (Keras's norm has a floor, epsilon, rather than dividing by 0)
        arrays[1][1] *= 1e-9  # vectors shorter than epsilon are scaled by 1/epsilon, not normalised
    masks = masks_for(arrays, which)
    expected, attached, computed = keras_call(spec, arrays, masks)
    (got,), (mask,) = kernel(spec, shapes).call(arrays, masks)
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
    for keras_mask in (attached, computed):
        assert (mask is None) == (keras_mask is None), f"mask {mask} != Keras's {keras_mask}"
        if keras_mask is not None:
            np.testing.assert_array_equal(mask, keras_mask.astype(bool))


@pytest.mark.keras
@pytest.mark.parametrize("spec", ["Concatenate(axis=1)", "Concatenate", "Maximum", "Multiply", "Minimum"])
def test_masks_with_fully_padded_steps_equal_keras(spec: str) -> None:
    """Steps masked in every input: Multiply zeroes them, Maximum and Minimum keep the first input's value."""
    arrays = [RNG.normal(size=(3, 4, 2)).astype("float32") for _ in range(3)]
    masks: list[np.ndarray | None] = [np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]], bool),
                                      np.array([[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]], bool),
                                      np.array([[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]], bool)]
    expected, attached, _ = keras_call(spec, arrays, masks)
    (got,), (mask,) = kernel(spec, [(3, 4, 2)]).call(arrays, masks)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
    assert attached is not None and mask is not None
    np.testing.assert_array_equal(mask, attached.astype(bool))


@pytest.mark.keras
@pytest.mark.parametrize("spec", ["Multiply", "Maximum", "Minimum", "Add"])
def test_a_lower_rank_input_loses_its_mask_as_in_keras(spec: str) -> None:
    """Keras expands a lower-rank input after the batch, and the expanded copy has no mask: its values merge as if
    unmasked (and the output has no mask, since the other input has none)."""
    arrays = [RNG.normal(size=(3, 2, 4, 3)).astype("float32"), RNG.normal(size=(3, 4, 3)).astype("float32")]
    masks: list[np.ndarray | None] = [None, random_mask((3, 4))]
    expected, attached, _ = keras_call(spec, arrays, masks)
    (got,), (mask,) = kernel(spec, [(3, 2, 4, 3), (3, 4, 3)]).call(arrays, masks)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
    assert attached is None and mask is None


# ---------------------------------------------------------------- without Keras: arguments and the chain form


@pytest.mark.parametrize(("spec", "code", "said"), [
    ("Dot", "E204", "missing its argument 'axes'"),
    ("Dot(axes=(1, 2, 1))", "E203", "one axis or a pair"),
    ("Dot(axes=0)", "E203", "axis 0 is the batch"),
    ("Dot(axes=(0, 1))", "E203", "axis 0 is the batch"),
    ("Dot(axes=1.5)", "E202", "'axes' expects an axis or a pair of axes"),
    ("Dot(axes=(1, x))", "E202", "'axes' expects an axis or a pair of axes"),
    ("Dot(1, normalize=3)", "E202", "'normalize' expects true or false"),
    ("Concatenate(axis=0)", "E203", "axis 0 is the batch"),
    ("Concatenate(axis=last)", "E202", "'axis' expects an integer"),
    ("Add(axis=1)", "E201", "Add has no argument 'axis'"),
])
def test_argument_errors(spec: str, code: str, said: str) -> None:
    with pytest.raises(RnnspecError) as caught:
        node(spec)
    assert caught.value.code == code
    assert said in caught.value.message


GENERIC = {"activity_regularizer": None, "trainable": True, "dtype": None, "autocast": True, "name": None}


def own(args: dict) -> dict:
    """The arguments of the merge itself, without those every layer takes (rnnspec.layers.base)."""
    assert {k: args[k] for k in GENERIC} == GENERIC
    return {k: v for k, v in args.items() if k not in GENERIC}


def test_arguments_resolve_to_what_keras_takes() -> None:
    assert own(node("Concatenate").args) == {"axis": -1}
    assert own(node("Concatenate(1)").kind.keras_kwargs(node("Concatenate(1)").args)) == {"axis": 1}
    assert own(node("Dot(-1)").args) == {"axes": -1, "normalize": False}
    assert own(node("Dot((2, 1), normalize)").args) == {"axes": (2, 1), "normalize": True}
    for name in MERGES[:6]:
        n = node(name)
        assert own(n.kind.keras_kwargs(n.args)) == {}


@pytest.mark.parametrize("name", MERGES)
def test_a_merge_in_a_plain_chain_says_to_give_it_a_tuple(name: str) -> None:
    n = node("Dot(1)" if name == "Dot" else name)
    assert n.kind.takes_several and n.kind.family == "merge"
    assert n.kind.weights(n.args, (None, 3)) == []
    with pytest.raises(ShapeError, match=rf"{name} merges several tensors: write \(a, b\) > {name}"):
        n.kind.output(n.args, Tensor((None, 3)))
    with pytest.raises(RnnspecError) as caught:
        kernel("Dot(1)" if name == "Dot" else name, [(2, 3)]).forward(np.ones((2, 3), "float32"), None)
    assert caught.value.code == "E501" and "several tensors" in caught.value.message


def test_integer_inputs_merge_as_floats() -> None:
    """rnnspec types every merge float32, as Keras's symbolic output does; the kernel computes in the float dtype."""
    ids = [np.arange(6, dtype="int32").reshape(2, 3), np.ones((2, 3), "int32")]
    (got,), _ = kernel("Average", [(2, 3)]).call(ids, [None, None])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, (ids[0] + 1) / 2)
    assert rnnspec_outputs("Add", [(None, 3), (None, 3)])[0].dtype == "float32"
