"""The functional form: the language, its errors, and Keras parity of every functional spec in both backends.

Parity is asked of real Keras: each spec is compiled to a `keras.Model` in a fresh session (Keras numbers the
mask operations it lists per session), its summary compared with rnnspec's row for row, and the NumPy model run
on Keras's weights and compared output by output, states and masks included.
"""
from __future__ import annotations


import numpy as np
import pytest

import rnnspec
from rnnspec.errors import RnnspecError
from rnnspec.render import report_json, summary_table

from .conftest import SPECS

FUNCTIONAL = SPECS / "functional.rnn"
FUNCTIONAL_MODELS = [r.name for r in rnnspec.check(FUNCTIONAL)]


def report_of(text: str, model: str | None = None) -> rnnspec.ModelReport:  # type: ignore[name-defined]
    return rnnspec.select(text, model=model)


def errors_of(text: str) -> list[RnnspecError]:
    (report,) = rnnspec.check(text)
    return report.errors


def one_error(text: str) -> RnnspecError:
    errors = errors_of(text)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


# ---------------------------------------------------------------- the language


def test_every_functional_spec_checks_without_warnings() -> None:
    for report in rnnspec.check(FUNCTIONAL):
        assert report.ok, [str(e) for e in report.errors]
        assert report.warnings == [], [str(w) for w in report.warnings]


def test_a_chain_refuses_a_layer_of_several_outputs() -> None:
    error = one_error("Input(5, 3) > LSTM(3, state) > Dense(2)")
    assert error.code == "E214" and "LSTM with `state` has 3 outputs (output, h, c)" in error.message
    assert error.hint is not None and "functional form" in error.hint


def test_a_binding_after_a_lone_chain_says_how_a_functional_model_starts() -> None:
    error = one_error("Input(3) > Dense(2)\ny = Input(4)\ny > Dense(1)")
    assert (error.code, error.span.line) == ("E100", 2) and "bound after a chain" in error.message
    assert error.hint is not None and "starts with a binding" in error.hint


def test_a_chain_refuses_a_tuple_of_tensors() -> None:
    error = one_error("Input(3) > (Dense(2), Dense(3)) > Dense(1)")
    assert error.code == "E300" and "functional model" in error.message and error.span.column == 12


def test_a_plain_chain_is_still_a_sequential_model() -> None:
    report = report_of("Embedding(10000, 32) > SimpleRNN(32)")
    assert report.functional is None and report.total == 322_080


def test_several_outputs_have_one_shape_each() -> None:
    report = report_of(FUNCTIONAL.read_text(), "generator")
    assert report.output == ((None, 67), (None, 1024))
    assert [name for name, _ in report.inputs] == ["token_ids", "state_in"]


def test_a_shared_layer_is_counted_once_and_called_twice() -> None:
    report = report_of(FUNCTIONAL.read_text(), "siamese")
    (lstm,) = [row for row in report.rows if row.type == "LSTM"]
    assert len(lstm.calls) == 2 and lstm.params == 4 * 64 * (32 + 64 + 1)
    assert lstm.inbound[0][0].layer == "a" and lstm.inbound[1][0].layer == "b"


def test_output_is_a_name_where_names_follow_it() -> None:
    report = report_of("output = Input(3)\noutput > Dense(2)")
    assert report.output == (None, 2)
    report = report_of("x = Input(4, 3)\noutput, h = x > GRU(2, state)\noutput > Dense(1)")
    assert report.output == (None, 1)


@pytest.mark.parametrize(("text", "error"), [
    ("x = Input(5, 3)\ny, h, c = x > LSTM(4, state) : ((None, 4), (None, 4), (None, 4))\noutput y, h, c", None),
    ("x = Input(5, 3)\ny, h, c = x > LSTM(4, state) : ((None, 4), (None, 4), (None, 5))\noutput y, h, c",
     "'lstm' outputs (None, 4), (None, 4), (None, 4), but the spec says (None, 4), (None, 4), (None, 5)"),
    ("a = Input(3)\nb = Input(4)\n(a, b) : ((None, 3), (None, 4)) > Concatenate", None),
    ("a = Input(3)\nb = Input(4)\n(a, b) : ((None, 3), (None, 3)) > Concatenate",
     "the tensors here are (None, 3), (None, 4), but the spec says (None, 3), (None, 3)"),
    ("a = Input(3)\na : (None, 3) > Dense(2) : (None, 2)", None),
    ("x = Input(5, 3)\ny, h, c = x > LSTM(4, state) : (None, 4)\noutput y, h, c",
     "a shape note here gives 1 shape(s) for 3 tensor(s)"),
])
def test_a_shape_note_on_any_tensor(text: str, error: str | None) -> None:
    errors = errors_of(text)
    assert [e.message for e in errors] == ([] if error is None else [error])


def test_names_like_a_repeat_start_statements() -> None:
    """`x1` right after a layer is a repeat; bound (`x1 = `, `x2, _ = `), it is a name."""
    report = report_of("x0 = Input(3)\nx1 = x0 > Dense(4)\nx2, _ = x1 > RepeatVector(2) > GRU(2, state)\n"
                       "out = x2 > Dense(3) x2")
    assert [r.name for r in report.rows] == ["x0", "dense", "repeat_vector", "gru", "dense_1", "dense_2"]


def test_a_tuple_on_the_line_after_a_bare_name_starts_a_statement() -> None:
    """`b = z > encoder` then `(a, b) > Add`: the '(' opens a tuple, not encoder's arguments."""
    report = report_of("x = Input(3)\nencoder = Dense(3)\na = x > encoder\nb = a > encoder\n(a, b) > Add\n"
                       "expect shape\n(None, 3)")
    assert [r.type for r in report.rows] == ["InputLayer", "Dense", "Add"]
    error = one_error("Input(3) > Dense\n(4)")
    assert (error.code, error.span.line) == ("E100", 2) and "not the arguments of 'Dense'" in error.message


def test_a_chain_can_continue_from_a_fan_in_of_chains() -> None:
    report = report_of("a = Input(3)\nb = Input(3)\n(a > Dense(4), b > Dense(4)) > Concatenate > Dense(1)")
    assert report.output == (None, 1) and report.total == 16 + 16 + 9


def test_a_repeat_in_a_functional_chain_makes_a_layer_per_copy() -> None:
    report = report_of("x = Input(5, 3)\nx > LSTM(4, seq) x3 > LSTM(2)")
    assert [r.name for r in report.rows] == ["x", "lstm", "lstm_1", "lstm_2", "lstm_3"]


def test_json_has_every_layer_with_its_inbound_tensors() -> None:
    report = report_of(FUNCTIONAL.read_text(), "video")
    data = report_json(report)
    gru = next(layer for layer in data["layers"] if layer["name"] == "gru")
    assert gru["inbound"] == [[{"layer": "frames", "node": 0, "tensor": 0}, {"layer": "mask", "node": 0, "tensor": 0}]]
    assert [i["name"] for i in data["inputs"]] == ["frames", "mask"]
    assert data["output_shapes"] == [[None, 5]]


# ---------------------------------------------------------------- errors, each located with a hint


@pytest.mark.parametrize(("text", "code", "words", "hint"), [
    ("x = Input(3)\nx > Dense(2)\ny > Dense(1)", "E212", "'y' is neither", "bound so far: x"),
    ("xs = Input(3)\nx > Dense(2)", "E212", "unknown name 'x'", "did you mean 'xs'?"),
    ("x = Input(3)\nx = Input(4)\nx > Dense(1)", "E213", "'x' is already bound (line 1)", "its own name"),
    ("x = Input(5, 3)\na, a = x > GRU(4, state)\na > Dense(1)", "E213", "'a' is bound twice in one line", "_"),
    ("x = Input(5, 3)\nx > LSTM(4, state) > Dense(1)", "E214", "LSTM has 3 outputs (output, h, c)", "unpack"),
    ("x = Input(5, 3)\na, b = x > LSTM(4, state)", "E214", "3 outputs (output, h, c), but 2 name(s)", "with _"),
    ("x = Input(5, 3)\na, b = x > LSTM(4)", "E214", "2 names for the one output of LSTM", "add `state`"),
    ("x = Input(5, 3)\nh = Input(3)\nx > LSTM(4, initial_state=h)", "E303", "takes 2 initial state(s) (h, c)",
     "initial_state=(h, c)"),
    ("x = Input(5, 3)\nh = Input(3)\nx > GRU(4, initial_state=h)", "E303", "has shape (None, 3), but the layer's "
     "state is (None, 4)", "units"),
    ("x = Input(5, 3)\nm = Input(6, dtype=bool)\nx > GRU(4, mask=m)", "E303", "a mask is (batch, timesteps)",
     "dtype=bool"),
    ("a = Input(3)\nb = Input(4)\n(a, b) > Add", "E300", "", None),
    ("a = Input(3)\nb = Input(3)\na > Dense(1)", "E304", "input 'b' reaches no output", "remove it"),
    ("x = Input(3)\ny = z > Dense(2)\nz = x > Dense(2)\ny > Dense(1)", "E215", "'z' is used before it is bound",
     "cannot feed back"),
    ("x = Input(3)\nx > Dense(2, initial_state=x)", "E201", "Dense takes no initial_state=", "recurrent layer"),
    ("a = Input(3)\nx = a > Add", "E300", "Add merges several tensors but receives one", "(x, y) > Add"),
    ("a = Input(3)\nb = Input(3)\n(a, b) > Dense(2)", "E300", "Dense takes one tensor, but a tuple of 2",
     "Concatenate"),
    ("a = Input(3)\nd = Dense(2)\nb = Input(4)\n(a > d, b > d) > Add", "E300", "shared layer 'dense' was built",
     "same features"),
    ("x = Input(3)\nx > x", "E212", "'x' is a tensor, not a layer", "start a chain"),
    ("x0 = Input(3)\nx1 = x0 > Dense(4)\nx0 > Dense(2)\nx1 > Dense(1)", "E207",
     "'x0' at the start of a line repeats the layer above it", "rename it"),
])
def test_errors_of_the_functional_form(text: str, code: str, words: str, hint: str | None) -> None:
    error = errors_of(text)[0]
    assert error.code == code, str(error)
    assert words in error.message, str(error)
    if hint is not None:
        assert error.hint is not None and hint in error.hint, str(error)
    assert error.span is not None


def test_a_statement_that_fails_does_not_bring_errors_about_what_it_would_have_bound() -> None:
    errors = errors_of("x = Input(3)\ny = x > Dnse(2)\ny > Dense(1)")
    assert [e.code for e in errors] == ["E200"]


@pytest.mark.parametrize(("text", "code", "words"), [
    ("x = Input(3)\ny = x > Dense(2)\nx > Dense(1)", "W105", "'y' is bound but never used"),
    ("x = Input(3)\nx > Dense(2)\nx > Dense(1)", "W106", "never used"),
    ("s = Input(5, dtype=int32)\nh = Input(4)\ns > Embedding(9, 3, mask_zero) > GRU(4, initial_state=h)", "W107",
     "does not pass it the mask"),
])
def test_warnings_of_the_functional_form(text: str, code: str, words: str) -> None:
    (report,) = rnnspec.check(text)
    assert report.ok, [str(e) for e in report.errors]
    assert [w.code for w in report.warnings] == [code]
    assert words in report.warnings[0].message


# ---------------------------------------------------------------- Keras parity, both backends


def _fresh_keras_model(report: rnnspec.ModelReport):  # type: ignore[name-defined]
    import keras

    keras.backend.clear_session()  # Keras numbers the mask operations it lists per session
    return rnnspec.compile(report)


def _summary_rows(text: str) -> list[tuple[str, ...]]:
    from .test_keras_backend import summary_rows

    return summary_rows(text)


def keras_summary(model) -> str:  # type: ignore[no-untyped-def]
    from .test_keras_backend import keras_summary as wide_summary

    return wide_summary(model)


def spec_of(block: str) -> str:
    """A model written indented in a test module, as spec text."""
    return "\n".join(line.strip() for line in block.strip().splitlines())


def assert_matches_keras(text: str, seed: int = 7, steps: int = 6) -> None:
    """The model's summary is Keras's row for row (in a fresh session) and NumPy computes what Keras computes, on
    Keras's weights and inputs with padding."""
    report = report_of(text)
    model = _fresh_keras_model(report)
    assert _summary_rows(summary_table(report)) == _summary_rows(keras_summary(model))
    _compare(report, model, inputs_of(report, seed, steps=steps))


@pytest.mark.keras
@pytest.mark.parametrize("name", FUNCTIONAL_MODELS)
def test_functional_spec_compiles_to_keras_with_the_same_summary(name: str) -> None:
    from .test_keras_backend import totals

    report = report_of(FUNCTIONAL.read_text(), name)
    model = _fresh_keras_model(report)
    ours, theirs = summary_table(report), keras_summary(model)
    assert _summary_rows(ours) == _summary_rows(theirs)
    assert totals(ours) == totals(theirs)
    assert [(r.name, r.type) for r in report.rows] == [(layer.name, type(layer).__name__) for layer in model.layers]
    for row, layer in zip(report.rows, model.layers):
        assert [(w.name, w.shape, w.trainable) for w in row.weights] == \
            [(w.name, tuple(w.shape), w.trainable) for w in layer.weights]
    assert [tuple(t.shape) for t in model.inputs] == [t.shape for _, t in report.inputs]
    assert [t.dtype for t in model.inputs] == [t.dtype for _, t in report.inputs]
    assert [tuple(t.shape) for t in model.outputs] == [t.shape for t in report.outputs]
    assert model.count_params() == report.total
    _compare(report, model, inputs_of(report, batch=2, steps=4))  # the bundled size, short sequences


def inputs_of(report: rnnspec.ModelReport, seed: int = 7, batch: int = 3, steps: int = 6) -> list[np.ndarray]:
    """Ids from 1 with some padding (0) at the end, masks true at the first step, normal floats otherwise."""
    rng = np.random.default_rng(seed)
    arrays = []
    for _, tensor in report.inputs or [("input", report.input)]:  # a chain has its one input
        shape = tuple(batch if i == 0 else steps if d is None else d for i, d in enumerate(tensor.shape))
        if tensor.dtype == "bool":
            array = rng.random(shape) < 0.7
            array[:, 0] = True
        elif tensor.dtype.startswith("int"):
            array = rng.integers(1, 5, shape).astype(tensor.dtype)
            if array.shape[1] > 2:
                array[0, -2:] = 0
        else:
            array = rng.standard_normal(shape).astype("float32")
        arrays.append(array)
    return arrays


def _compare(report: rnnspec.ModelReport, keras_model, inputs: list[np.ndarray]) -> None:  # type: ignore
    numpy_model = rnnspec.compile(report, backend="numpy")
    numpy_model.set_weights(keras_model.get_weights())
    theirs = keras_model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    ours = numpy_model(inputs if len(inputs) > 1 else inputs[0])
    theirs = theirs if isinstance(theirs, list) else [theirs]
    ours = ours if isinstance(ours, list) else [ours]
    assert len(ours) == len(theirs)
    for mine, keras_out in zip(ours, theirs):
        np.testing.assert_allclose(mine, keras_out, atol=1e-5, rtol=1e-4)


SMALL = {  # the bundled specs at sizes that run in milliseconds; the same topology, each rule exercised
    "translator": """
        encoder_inputs = Input(None, 7)
        decoder_inputs = Input(None, 9)
        _, h, c = encoder_inputs > LSTM(8, state)
        y, _, _ = decoder_inputs > LSTM(8, seq, state, initial_state=(h, c))
        y > Dense(9, activation=softmax)""",
    "babi": """
        story = Input(12, dtype=int32)
        question = Input(5, dtype=int32)
        s = story > Embedding(6, 4, mask_zero) > Dropout(0.3)
        q = question > Embedding(6, 4) > Dropout(0.3) > LSTM(4) > RepeatVector(12)
        (s, q) > Add > LSTM(5) > Dropout(0.3) > Dense(6, activation=softmax)""",
    "generator": """
        token_ids = Input(1, dtype=int32)
        state_in = Input(8)
        x, state_out = token_ids > Embedding(6, 4) > GRU(8, state, initial_state=state_in)
        probs = x > Dense(6, activation=softmax)
        output probs, state_out""",
    "siamese": """
        a = Input(None, 4)
        b = Input(None, 4)
        encoder = LSTM(6)
        (a > encoder, b > encoder) > Concatenate > Dense(1, activation=sigmoid)""",
    "video": """
        frames = Input(6, 5)
        mask = Input(6, dtype=bool)
        frames > GRU(4, seq, mask=mask) > GRU(3) > Dense(2, activation=softmax)""",
    "seq2seq": """
        source = Input(None, dtype=int32)
        target = Input(None, dtype=int32)
        _, state = source > Embedding(5, 4, mask_zero) > Bidirectional(GRU(4, seq), sum) > GRU(6, state)
        y = target > Embedding(5, 4) > GRU(6, seq, initial_state=state)
        y > Dense(5, activation=softmax)""",
    "masked_merge": """
        a = Input(6, dtype=int32)
        b = Input(6, dtype=int32)
        x = a > Embedding(5, 4, mask_zero)
        y = b > Embedding(5, 4, mask_zero)
        (x, y) > Concatenate > LSTM(3, seq) > SimpleRNN(2)""",
    "two_masked_concatenates": """
        a = Input(6, dtype=int32)
        b = Input(6, 4)
        x = a > Embedding(5, 4, mask_zero)
        y = (x, b) > Concatenate > GRU(4, seq)
        (y, x) > Concatenate > LSTM(2)""",
    "masking_then_pooling": """
        x = Input(6, 3)
        y = x > Masking() > LSTM(2, seq) > GlobalAveragePooling1D()
        y > Dense(1)""",
    "masks_joined_in_time": """
        a = Input(6, dtype=int32)
        b = Input(6, dtype=int32)
        x = a > Embedding(5, 4, mask_zero)
        y = b > Embedding(5, 4)
        (x, y) > Concatenate(axis=1) > GRU(2)""",
    "one_state_three_uses": """
        x = Input(5, 3)
        _, h = x > GRU(3, state)
        y = x > GRU(3, initial_state=h)
        z = x > GRU(3, seq, initial_state=h) > GRU(3, initial_state=h)
        (y, z, h) > Add""",
    "shared_at_two_depths": """
        a = Input(4, 3)
        b = Input(4, 3)
        shared = LSTM(3, seq)
        c = a > shared
        d = b > Dense(3) > shared
        (c, d) > Add > LSTM(2)""",
    "masked_add": """
        a = Input(6, dtype=int32)
        b = Input(6, dtype=int32)
        x = a > Embedding(5, 4, mask_zero)
        y = b > Embedding(5, 4, mask_zero) > Dense(4)
        (x, y) > Add > GRU(3, seq) > Bidirectional(SimpleRNN(2))""",
    "pooling_masks": """
        s = Input(6, dtype=int32)
        m = Input(6, dtype=bool)
        e = s > Embedding(7, 4, mask_zero) > BatchNormalization()
        a = e > GlobalAveragePooling1D()
        b = e > GlobalAveragePooling1D(mask=m)
        (a, b) > Concatenate > Dense(2)""",
    "bidirectional_states": """
        x = Input(6, 3)
        o, fh, fc, bh, bc = x > Bidirectional(LSTM(4, state))
        z = Input(6, 3)
        w = z > Bidirectional(LSTM(4, seq), initial_state=(fh, fc, bh, bc)) > GRU(2)
        (o, w) > Concatenate > Dense(2)""",
}


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(SMALL))
def test_numpy_runs_functional_models_as_keras_does(name: str) -> None:
    assert_matches_keras(spec_of(SMALL[name]))


@pytest.mark.keras
@pytest.mark.parametrize("merge", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                                   "Concatenate(axis=1)", "Dot(axes=2)"])
def test_each_merge_layer_in_a_model_matches_keras(merge: str) -> None:
    text = f"a = Input(5, 4)\nb = Input(5, 4)\n(a > LSTM(4, seq), b > GRU(4, seq)) > {merge} > SimpleRNN(3)"
    report = report_of(text)
    model = _fresh_keras_model(report)
    assert report.total == model.count_params()
    _compare(report, model, inputs_of(report, 3, steps=5))


def test_numpy_refuses_a_mask_argument_and_wrong_inputs_of_a_functional_model() -> None:
    report = report_of(FUNCTIONAL.read_text(), "video")
    model = rnnspec.compile(report, backend="numpy")
    frames = np.zeros((2, 20, 2048), "float32")
    with pytest.raises(RnnspecError, match="takes 2 inputs"):
        model(frames)
    with pytest.raises(RnnspecError, match="missing: mask"):
        model({"frames": frames})
    with pytest.raises(RnnspecError, match="a mask is one of its inputs"):
        model([frames, np.ones((2, 20), bool)], mask=np.ones((2, 20), bool))
    out = model({"frames": frames, "mask": np.ones((2, 20), bool)})
    assert out.shape == (2, 5)


def test_a_functional_numpy_model_copies_and_pickles_with_its_graph() -> None:
    import copy
    import pickle

    report = report_of(spec_of(SMALL["seq2seq"]))
    model = rnnspec.compile(report, backend="numpy", seed=3)
    inputs = inputs_of(report)
    expected = model(inputs)
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(other(inputs), expected)


def test_a_1000_layer_functional_model_with_merges_checks() -> None:
    """The shape bench/throughput.py times: 250 blocks of two branches merged, the last block the output."""
    blocks = "".join(f"a{i} = x{i} > Dense(8)\nb{i} = x{i} > Dense(8)\nx{i + 1} = (a{i}, b{i}) > Add > Dropout(0.1)\n"
                     for i in range(250))
    report = report_of("x0 = Input(4, 8)\n" + blocks)
    assert len(report.rows) == 1 + 250 * 4 and report.output == (None, 4, 8)
    assert report.total == 250 * 2 * (8 * 8 + 8)
