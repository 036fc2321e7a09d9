"""Inference without Keras: exact integer arithmetic, located shape errors with diagnoses, assertions."""
from __future__ import annotations

import time

import pytest

import rnnspec
from rnnspec.errors import RnnspecError


def errors(spec: str) -> list[RnnspecError]:
    (report,) = rnnspec.check(spec, path="m.rnn")
    return report.errors


def test_huge_counts_are_exact_and_instant() -> None:
    start = time.perf_counter()
    report = rnnspec.select("Embedding(2000000, 4096) > LSTM(4096, seq) x 50 > Dense(2000000)")
    elapsed = time.perf_counter() - start
    lstm = 4 * (4096 + 4096 + 1) * 4096
    assert report.total == 2_000_000 * 4096 + 50 * lstm + 4096 * 2_000_000 + 2_000_000
    assert report.bytes == report.total * 4
    assert elapsed < 1.0  # arithmetic on ints: nothing is allocated


def test_embedding_implies_integer_ids_of_any_length() -> None:
    report = rnnspec.select("Embedding(10, 4)")
    assert report.input is not None
    assert (report.input.shape, report.input.dtype) == ((None, None), "int32")


def test_explicit_input_with_dtype_and_fixed_length() -> None:
    report = rnnspec.select("Input(20, dtype=int32) > Embedding(100, 8) > LSTM(4)")
    assert report.input is not None and report.input.shape == (None, 20)
    assert report.rows[0].output_shape == (None, 20, 8)


def test_float_features_into_embedding_are_a_warning() -> None:
    """Keras casts float values to ids, and real code relies on it: a warning with the integer input to write."""
    (report,) = rnnspec.check("Input(20) > Embedding(100, 8)")
    assert report.ok and [w.code for w in report.warnings] == ["W108"]
    warning = report.warnings[0]
    assert warning.span is not None and warning.span.column == 13
    assert warning.hint is not None and "dtype=int32" in warning.hint


def test_rnn_after_last_step_only_layer_names_the_culprit() -> None:
    (err,) = errors("Input(5, 3) > LSTM(4) > GRU(2)")
    assert err.code == "E300" and "received (None, 4)" in err.message
    assert (err.span.line, err.span.column, err.span.end_column) == (1, 25, 31)
    assert err.hint is not None and "'lstm'" in err.hint and "seq" in err.hint


def test_rnn_on_a_2d_input_suggests_a_sequence_input() -> None:
    (err,) = errors("Input(32) > SimpleRNN(4)")
    assert err.hint is not None and "Input(None, 32)" in err.hint


def test_model_without_an_implied_input_asks_for_one() -> None:
    (err,) = errors("LSTM(4)")
    assert err.code == "E301" and err.hint is not None and "Input(None, 32) > LSTM" in err.hint


def test_flatten_needs_known_dimensions() -> None:
    (err,) = errors("Input(None, 4) > Flatten")
    assert err.code == "E302"
    assert rnnspec.select("Input(7, 4) > Flatten").output == (None, 28)


def test_valid_conv_that_leaves_no_steps_is_an_error() -> None:
    (err,) = errors("Input(4, 2) > Conv1D(3, 5)")
    assert err.code == "E300" and "no output steps" in err.message


def test_failed_assertions_are_located_at_the_assertion() -> None:
    spec = "Input(3, 2) > LSTM(4, seq) : (None, 3, 5) > LSTM(4)\nexpect shape (None, 5)\nexpect params 1\nexpect non_trainable 0"
    found = errors(spec)
    assert [(e.code, e.span.line, e.span.column) for e in found] == [("E402", 1, 30), ("E400", 2, 1), ("E401", 3, 1)]
    assert "outputs (None, 3, 4), but the spec says (None, 3, 5)" in found[0].message
    assert "expected 1 parameters, inferred" in found[2].message


def test_shape_note_inside_a_repeated_group_applies_to_every_copy() -> None:
    report = rnnspec.select("Input(9, 2) > (LSTM(3, seq) : (None, 9, 3) > Dropout(0.1)) x2")
    assert [r.type for r in report.rows] == ["LSTM", "Dropout", "LSTM", "Dropout"]
    assert errors("Input(9, 2) > (LSTM(3, seq) > Dense(4) : (None, 9, 3)) x2")[0].code == "E402"


def test_rows_are_named_like_keras() -> None:
    report = rnnspec.select("Input(3, 2) > LSTM(4, seq) > LSTM(4, seq) > TimeDistributed(Dense(2)) > "
                            "GlobalMaxPooling1D > Dense(1)")
    assert [r.name for r in report.rows] == ["lstm", "lstm_1", "time_distributed", "global_max_pooling1d", "dense"]


def test_duplicate_model_names_are_reported() -> None:
    reports = rnnspec.check("model a: Dense(1)\nmodel a: Embedding(3, 2)")
    assert reports[1].errors[0].code == "E208" and reports[1].errors[0].span.line == 2


def test_select_raises_with_every_error_of_the_model() -> None:
    with pytest.raises(RnnspecError) as err:
        rnnspec.select("Input(3, 2) > LSTM(4)\nexpect shape (None, 5)\nexpect params 1")
    assert "E400" in str(err.value) and "E401" in str(err.value)


@pytest.mark.parametrize("spec", ["Input(3) > Dropout(1.0)", "Input(3, 2) > SpatialDropout1D(1)",
                                  "Input(3, 2) > GRU(2, recurrent_dropout=1.0)"])
def test_a_rate_of_one_is_refused_though_keras_accepts_it(spec: str) -> None:
    (err,) = errors(spec)
    assert err.code == "E203" and "must be below 1" in err.message
    assert rnnspec.select(spec.replace("1.0", "0.99").replace("(1)", "(0.99)")).rows



class CountingList(list):
    """A list that counts the elements read from it, by iteration, index or slice."""

    reads = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for item in super().__iter__():
            self.reads += 1
            yield item

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        found = super().__getitem__(index)
        self.reads += len(found) if isinstance(index, slice) else 1
        return found


def test_shape_notes_are_read_once_each_not_once_per_layer() -> None:
    """Every note was matched by scanning all the notes at every layer (55,188 notes: 47 s)."""
    from rnnspec.graph import lower
    from rnnspec.infer import infer_graph

    text = "Input(4)" + " > Dense(4) : (None, 4)" * 300 + " > Dense(2) : (None, 3)"
    (model,) = rnnspec.parse(text).models
    graph = lower(model)
    graph.notes = CountingList(graph.notes)
    report = infer_graph(graph)
    assert [(e.code, e.span.column) for e in report.errors] == [("E402", text.rindex("(None") + 1)]
    assert graph.notes.reads <= 2 * len(graph.notes) + len(graph.layers)  # not len(notes) * len(layers)


# The last recurrent layer's `seq` decides whether the output keeps its time axis: E400 says which layer to change.
RANK_MISTAKES = [
    ("Input(5, 3) > LSTM(4, seq)\n > LSTM(3, seq)\nexpect shape (None, 3)", "'lstm_1' (LSTM, line 2) returns every "
     "step (seq); drop `seq` from it to return only the last step", (2, "LSTM(3, seq)", "LSTM(3)")),
    ("Input(5, 3) > Bidirectional(GRU(4, seq)) > Dense(2)\nexpect shape (None, 2)", "'bidirectional' (Bidirectional, "
     "line 1) returns every step (seq); drop `seq` from it", (1, "GRU(4, seq)", "GRU(4)")),
    ("Input(5, 3) > LSTM(4, seq) > GRU(3) > Dense(2)\nexpect shape (None, 5, 2)", "'gru' (GRU, line 1) returns only "
     "its last step; add `seq` to it to return every time step", (1, "GRU(3)", "GRU(3, seq)")),
]


@pytest.mark.keras
@pytest.mark.parametrize("spec, hint, fix", RANK_MISTAKES)
def test_a_failed_expect_shape_names_the_recurrent_layer_to_change(spec: str, hint: str,
                                                                   fix: tuple[int, str, str]) -> None:
    (err,) = errors(spec)
    assert err.code == "E400" and err.hint is not None and err.hint.startswith(hint)
    line, wrong, right = fix
    lines = spec.split("\n")
    lines[line - 1] = lines[line - 1].replace(wrong, right)
    fixed = "\n".join(lines)
    model = rnnspec.compile(fixed.split("\nexpect")[0])  # the hint's fix, built by Keras, gives the expected shape
    assert str(tuple(model.outputs[0].shape)) == spec.split("expect shape ")[1]
    assert rnnspec.select(fixed).ok


@pytest.mark.parametrize("spec", ["Input(5, 3) > Dense(4)\nexpect shape (None, 4)",
                                  "Input(5, 3) > LSTM(4, seq) > GlobalAveragePooling1D\nexpect shape (None, 5, 4)",
                                  "Input(5, 3) > LSTM(4, seq)\nexpect shape (None, 5, 3)"])
def test_no_seq_hint_where_seq_is_not_the_cause(spec: str) -> None:
    (err,) = errors(spec)
    assert err.code == "E400" and err.hint is None
