"""States in and out of recurrent layers: `initial_state=` and `return_state` in the NumPy kernels against Keras
layers on the same weights (outputs, final states and their masks), and the shape rules (`outputs`,
`state_shapes`) against Keras's symbolic shapes. Masks have trailing and leading padding, a gap and a fully
padded row, where Keras keeps a given initial state as the final one but outputs zeros."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rnnspec.backends.numpy.base import kernels, make_kernel
from rnnspec.errors import RnnspecError
from rnnspec.graph import resolve_call
from rnnspec.layers.base import LayerNode, ShapeError, Tensor
from rnnspec.parser import parse

kernels()

BATCH, STEPS, FEATURES = 4, 6, 3

RECURRENT = [
    "SimpleRNN(3, state)", "SimpleRNN(3, seq, backwards, state)", "SimpleRNN(3, seq, state, activation=relu)",
    "LSTM(3, state)", "LSTM(3, seq, state)", "LSTM(3, seq, backwards, state)",
    "LSTM(1, backwards, state)",  # features >= 2 * units: the fast loop's product without the input rows
    "LSTM(3, state, recurrent_activation=hard_sigmoid, use_bias=false)",  # the general loop, unmasked too
    "GRU(3, state)", "GRU(3, seq, backwards, state)", "GRU(3, seq, state, use_bias=false)",
    "GRU(3, state, reset_after=false)", "GRU(3, seq, backwards, state, reset_after=false)",
    "LSTM(3, seq)", "GRU(3, backwards)",  # initial_state without return_state
]
BIDIRECTIONAL = [
    "Bidirectional(LSTM(3, state))", "Bidirectional(LSTM(3, seq, state), sum)",
    "Bidirectional(GRU(3, seq, state))", "Bidirectional(GRU(3, state, reset_after=false), merge_mode=sum)",
    "Bidirectional(SimpleRNN(3, state), sum, backward_layer=GRU(3, backwards, state))",
    "Bidirectional(GRU(3, seq, state), backward_layer=SimpleRNN(3, seq, backwards, state))",
    "Bidirectional(LSTM(3, seq, state), backward_layer=LSTM(3, seq, backwards, state, activation=relu))",
    "Bidirectional(LSTM(3, seq))",  # initial_state without return_state
]
# batch * units large enough for the fast loops' exp forms
WIDE = ["SimpleRNN(64, backwards, state)", "LSTM(64, seq, state)", "GRU(64, state)", "Bidirectional(LSTM(64, state))"]


def node_of(spec: str) -> LayerNode:
    return resolve_call(parse(spec).models[0].chain.stages[0].element)


def padding(batch: int, steps: int) -> np.ndarray:
    mask = np.ones((batch, steps), bool)
    mask[0, steps - 2:] = False      # trailing padding
    mask[1, :2] = False              # leading padding
    mask[2, 2:4] = False             # a gap
    mask[3, :] = False               # a fully padded row: the output is zeros, the state the initial one
    return mask


def keras_mask(tensor: Any) -> np.ndarray | None:
    from keras.src.backend import get_keras_mask

    mask = get_keras_mask(tensor)
    return None if mask is None else np.asarray(mask)


def compare(spec: str, batch: int = BATCH, scale: float = 0.5) -> None:
    """Every combination of mask and initial state, on one Keras layer and one kernel with the same weights. Keras
    runs them all in one call (its calls are slow), stacked on the batch axis: an all-true mask and a zero initial
    state give what no mask and no initial state give; the kernel runs each on its own, through its own paths."""
    from rnnspec.backends.keras import keras_layer

    node = node_of(spec)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(batch, STEPS, FEATURES)).astype("float32")
    layer = keras_layer(node)
    layer(x)  # build
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.get_weights()])
    kernel = make_kernel(node, (None, STEPS, FEATURES), np.dtype("float32"))
    kernel.load(layer.get_weights())
    shapes = node.kind.state_shapes(node.args, Tensor((batch, STEPS, FEATURES)))
    initial = [rng.normal(size=shape).astype("float32") for shape in shapes]
    cases = [(mask, given) for mask in (None, padding(batch, STEPS)) for given in (None, initial)]
    everything = layer(np.concatenate([x] * len(cases)), mask=np.concatenate(
        [np.ones((batch, STEPS), bool) if mask is None else mask for mask, _ in cases]), initial_state=[
        np.concatenate([np.zeros_like(s) if given is None else given[i] for _, given in cases])
        for i, s in enumerate(initial)])
    everything = list(everything) if isinstance(everything, (list, tuple)) else [everything]
    for n, (mask, given) in enumerate(cases):
        rows = slice(n * batch, (n + 1) * batch)
        got, got_masks = kernel.call([x], [mask], given)
        case = f"{spec}, mask {mask is not None}, initial_state {given is not None}"
        assert len(got) == len(everything) == len(got_masks), case
        for ours, theirs, our_mask in zip(got, everything, got_masks):
            assert ours.dtype == np.float32 and ours.shape == tuple(theirs[rows].shape), case
            assert np.abs(ours - np.asarray(theirs[rows])).max() < 1e-5, case
            their_mask = keras_mask(theirs)
            if their_mask is None or mask is None:
                assert our_mask is None, case  # no mask in, or Keras gives this output none
            else:
                np.testing.assert_array_equal(our_mask, their_mask[rows])
        if given is None and len(got) == 1:  # the chain path gives the same output
            np.testing.assert_array_equal(kernel.forward(x, mask)[0], got[0])


pytestmark = pytest.mark.keras


@pytest.mark.parametrize("spec", RECURRENT + BIDIRECTIONAL)
def test_outputs_and_states_equal_keras(spec: str) -> None:
    compare(spec)


@pytest.mark.parametrize("spec", WIDE)
def test_the_fast_loops_exp_forms_start_from_and_return_states(spec: str) -> None:
    compare(spec, batch=64, scale=0.15)


def test_the_initial_state_arrays_are_not_changed() -> None:
    node = node_of("LSTM(3, seq, state)")
    kernel = make_kernel(node, (None, STEPS, FEATURES), np.dtype("float32"))
    kernel.load(kernel.fresh(np.random.default_rng(0)))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, STEPS, FEATURES)).astype("float32")
    initial = [rng.normal(size=(2, 3)).astype("float32") for _ in range(2)]
    kept = [s.copy() for s in initial]
    for mask in (None, np.ones((2, STEPS), bool)):
        outputs, _ = kernel.call([x], [mask], initial)
        for before, after in zip(kept, initial):
            np.testing.assert_array_equal(before, after)
        assert not any(np.shares_memory(a, b) for i, a in enumerate(outputs) for b in outputs[i + 1:])


# ---------------------------------------------------------------- shape rules against Keras's symbolic shapes


@pytest.mark.parametrize(("spec", "shape"), [(spec, [(None, 5, 3), (2, None, 3)][n % 2])
                                           for n, spec in enumerate(RECURRENT + BIDIRECTIONAL)])
def test_outputs_and_state_shapes_equal_keras(spec: str, shape: tuple) -> None:
    import keras

    from rnnspec.backends.keras import keras_layer

    node = node_of(spec)
    x = Tensor(shape)
    ours = [t.shape for t in node.kind.outputs(node.args, (x,))]
    states = node.kind.state_shapes(node.args, x)
    names = node.kind.output_names(node.args)
    assert len(names) == len(ours)
    symbolic = keras.Input(batch_shape=shape)
    for initial in (None, [keras.Input(batch_shape=s) for s in states]):  # Keras takes states of these shapes
        out = keras_layer(node)(symbolic, initial_state=initial)
        theirs = [tuple(t.shape) for t in (out if isinstance(out, (list, tuple)) else [out])]
        assert ours == theirs
    assert len(ours) == 1 or list(states) == ours[1:]  # a layer returns the states it takes


@pytest.mark.parametrize(("spec", "states"), [
    ("LSTM(3)", ()), ("LSTM(3, seq, state)", ("h", "c")), ("GRU(2, state)", ("h",)),
    ("SimpleRNN(2, return_state=true)", ("h",)), ("Bidirectional(GRU(2, seq))", ()),
    ("Bidirectional(LSTM(2, state))", ("forward_h", "forward_c", "backward_h", "backward_c")),
    ("Bidirectional(GRU(2, state), backward_layer=SimpleRNN(2, backwards, state))", ("forward_h", "backward_h")),
])
def test_output_names(spec: str, states: tuple[str, ...]) -> None:
    node = node_of(spec)
    assert node.kind.output_names(node.args) == ("output", *states)


def test_output_names_with_return_state_asked_for() -> None:
    """The names of the states a layer takes, asked with a plain dict (how the graph's errors ask)."""
    for spec, states in (("LSTM(3)", ("h", "c")), ("GRU(3)", ("h",)),
                         ("Bidirectional(LSTM(3))", ("forward_h", "forward_c", "backward_h", "backward_c"))):
        node = node_of(spec)
        assert node.kind.output_names({**node.args, "return_state": True}) == ("output", *states)


def test_a_chain_sees_the_first_output() -> None:
    node = node_of("LSTM(3, seq, state)")
    assert node.kind.output(node.args, Tensor((None, 5, 2))).shape == (None, 5, 3)


# ---------------------------------------------------------------- what cannot work is refused


def test_the_backward_layer_must_match_return_state() -> None:
    """Keras refuses halves that disagree on return_state."""
    import keras

    L = keras.layers
    with pytest.raises(RnnspecError, match="return_state"):
        node_of("Bidirectional(LSTM(3, state), backward_layer=LSTM(3, backwards))")
    with pytest.raises(ValueError, match="return_state"):
        L.Bidirectional(L.LSTM(3, return_state=True), backward_layer=L.LSTM(3, go_backwards=True))


def test_halves_with_different_states_are_refused_with_return_state() -> None:
    """Keras builds LSTM with GRU, but its symbolic outputs list the forward layer's states twice (5 tensors
    where the call gives 4), so a model fails when it runs."""
    import keras

    L = keras.layers
    with pytest.raises(RnnspecError, match="as many states"):
        node_of("Bidirectional(LSTM(3, state), backward_layer=GRU(3, backwards, state))")
    layer = L.Bidirectional(L.LSTM(3, return_state=True), backward_layer=L.GRU(3, return_state=True,
                                                                                 go_backwards=True))
    assert len(layer(keras.Input((5, 2)))) == 5
    assert len(layer(np.zeros((1, 5, 2), "float32"))) == 4


def test_halves_with_different_states_take_no_initial_state() -> None:
    """Keras gives each half half of the list: LSTM's 2 states and GRU's 1 cannot be split so."""
    node = node_of("Bidirectional(LSTM(3), backward_layer=GRU(3, backwards))")
    with pytest.raises(ShapeError, match="in half"):
        node.kind.state_shapes(node.args, Tensor((None, 5, 2)))


def test_time_distributed_refuses_a_layer_returning_states() -> None:
    import keras

    L = keras.layers
    for spec in ("TimeDistributed(LSTM(2, state))", "TimeDistributed(Bidirectional(GRU(2, seq, state)))"):
        with pytest.raises(RnnspecError, match="returns its states"):
            node_of(spec)
    with pytest.raises(Exception):
        L.TimeDistributed(L.LSTM(2, return_state=True))(keras.Input((3, 5, 2)))
