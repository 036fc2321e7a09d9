"""Resolution against the layer registry: names, arguments, flags, repeats, Input, assertion kinds.

Everything goes through `rnnspec.check(text)`, which never raises for these: errors sit in each report, located
at the exact line:column of what the user wrote. No TensorFlow is imported.
"""
from __future__ import annotations

import pytest

import rnnspec
from rnnspec.errors import RnnspecError, Span
from rnnspec.infer import ModelReport
from rnnspec.layers.base import Tensor


def errors_of(text: str) -> list[RnnspecError]:
    return [e for report in rnnspec.check(text) for e in report.errors]


def only_error(text: str) -> RnnspecError:
    errors = errors_of(text)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def ok(text: str) -> ModelReport:
    (report,) = rnnspec.check(text)
    assert report.ok, [str(e) for e in report.errors]
    return report


def layer_args(text: str, index: int = -1) -> dict[str, object]:
    report = ok(text)
    assert report.graph is not None
    return dict(report.graph.layers[index].args)


EMB = "Embedding(100, 8)\n> "  # a first layer that implies the input, so the layer under test is on line 2


@pytest.mark.parametrize("text, code, line, column, message, hint", [
    # unknown layers, with a suggestion
    (EMB + "LTSM(32)", "E200", 2, 3, "unknown layer 'LTSM'", "did you mean 'LSTM'?"),
    (EMB + "simplernn(32)", "E200", 2, 3, "unknown layer 'simplernn'", "did you mean 'SimpleRNN'?"),
    (EMB + "xLSTM(32)", "E200", 2, 3, "unknown layer 'xLSTM'", "did you mean 'LSTM'?"),
    (EMB + "Bidirectional(LTSM(3))", "E200", 2, 17, "unknown layer 'LTSM'", "did you mean 'LSTM'?"),
    (EMB + "Qwerty", "E200", 2, 3, "unknown layer 'Qwerty'", None),
    # unknown arguments, with a suggestion
    (EMB + "LSTM(32, unit=4)", "E201", 2, 12, "LSTM has no argument 'unit'", "did you mean 'units'?"),
    (EMB + "LSTM(32, activaton=relu)", "E201", 2, 12, "LSTM has no argument 'activaton'",
     "did you mean 'activation'?"),
    (EMB + "LSTM(32, sequ=true)", "E201", 2, 12, "no argument 'sequ'", "did you mean 'seq'?"),
    (EMB + "Flatten(size=3)", "E201", 2, 11, "Flatten has no argument 'size'",
     "'size' is a Keras argument of UpSampling1D, not of Flatten"),
    (EMB + "Flatten(sise=3)", "E201", 2, 11, "Flatten has no argument 'sise'", "Flatten takes: data_format, activity"),
    # wrong types
    (EMB + "LSTM(units=relu)", "E202", 2, 14, "'units' expects an integer >= 1, found 'relu'",
     "'relu' is a value for 'activation': write activation=relu"),
    (EMB + "LSTM(true)", "E202", 2, 8, "'units' expects an integer >= 1, found the boolean true", None),
    (EMB + "Dense(2.5)", "E202", 2, 9, "'units' expects an integer >= 1, found the number 2.5", None),
    (EMB + "Dense('3')", "E202", 2, 9, "found the string '3'", None),
    (EMB + "LSTM(3, return_sequences=1)", "E202", 2, 28, "'return_sequences' expects true or false", None),
    (EMB + "LSTM(3, seq=yes)", "E202", 2, 15, "expects true or false, found 'yes'", None),
    (EMB + "LSTM(3) > Bidirectional(Dense(3))", "E202", 2, 27, "expects a recurrent layer, found Dense",
     "wrap a recurrent layer"),
    (EMB + "Dense(3, activation=x3)", "E203", 2, 23, "'activation' expects an activation name", None),
    # out of range
    (EMB + "LSTM(0)", "E203", 2, 8, "'units' must be at least 1, found 0", None),
    (EMB + "Dropout(-0.1)", "E203", 2, 11, "'rate' must be between 0 and 1, found -0.1", None),
    (EMB + "Dropout(1.5)", "E203", 2, 11, "'rate' must be between 0 and 1, found 1.5", None),
    (EMB + "LSTM(4, seq) > Bidirectional(LSTM(3), merge_mode=max)", "E203", 2, 52, "found 'max'", None),
    # missing, twice, too many
    (EMB + "Dense()", "E204", 2, 3, "Dense is missing its argument 'units'", "Dense(units=...)"),
    (EMB + "Dense(activation=relu)", "E204", 2, 3, "missing its argument 'units'", "write Dense(units=...)"),
    (EMB + "Dense(3, units=4)", "E205", 2, 12, "'units' is given twice", "first given at line 2, column 9"),
    (EMB + "Dropout(rate=0.1, rate=0.2)", "E205", 2, 21, "'rate' is given twice", "line 2, column 11"),
    (EMB + "LSTM(3, seq, seq=false)", "E205", 2, 16, "'seq' (which sets 'return_sequences') is given twice",
     "LSTM takes 'return_sequences' once"),
    (EMB + "LSTM(3, go_backwards=true, backwards)", "E205", 2, 30, "'backwards' (which sets 'go_backwards')",
     "column 11"),
    (EMB + "Dense(3, relu, 4)", "E206", 2, 18, "Dense takes 2 positional argument(s) (units, activation); "
     "this one is extra", "name the extra argument"),
    (EMB + "Dropout(0.1, 0.2)", "E206", 2, 16, "Dropout takes 1 positional argument(s) (rate)",
     "name the extra argument"),
    (EMB + "Flatten(3)", "E206", 2, 11, "Flatten takes no positional arguments", None),
    # misspelt flags: the hint mentions the flag, whichever argument the word landed on
    (EMB + "LSTM(32, sequ)", "E203", 2, 12, "'sequ' is neither a flag of LSTM nor a valid 'activation'",
     "did you mean 'seq'?"),
    (EMB + "LSTM(32, tanh, sequ)", "E206", 2, 18, "LSTM takes 2 positional argument(s)", "did you mean 'seq'?"),
    (EMB + "GRU(32, tanh, backward)", "E206", 2, 17, "this one is extra", "did you mean 'backwards'?"),
    (EMB + "Dense(3, seq)", "E203", 2, 12, "Dense has no flag 'seq'", "'seq' is a flag of SimpleRNN, LSTM, GRU"),
    # repeats
    (EMB + "LSTM(3, seq) x0 > LSTM(3)", "E207", 2, 16, "a repeat count must be at least 1, found x0",
     "x3 means three copies in a row; to leave the layer out, delete it"),
    (EMB + "(LSTM(3, seq) > Dropout(0.1)) x 0", "E207", 2, 33, "at least 1", "x3 means three copies"),
    (EMB + "Dropout(0.1) x2_000_000_000", "E207", 2, 16, "more than 1,000,000,000 layers deep",
     "every copy of a repeat counts as layers; no model needs this many"),
    # Input
    (EMB + "Input(3, 4)", "E300", 2, 3, "Input can only be the first element of a model", "move Input(...)"),
    ("Input(5, 4) x2 > LSTM(3)", "E207", 1, 13, "Input cannot be repeated", "remove the repeat"),
    ("Input(5, 4) : (None, 5, 4) > LSTM(3)", "E202", 1, 15, "a shape note after it adds nothing", None),
    ("(Input(5, 4) > LSTM(3))", "E300", 1, 2, "Input can only be the first element", "move Input(...)"),
    # no input shape
    ("SimpleRNN(32)", "E301", 1, 1, "SimpleRNN cannot tell the model's input shape", "Input(None, 32) > SimpleRNN"),
    ("# no input\nmodel m:\n    SimpleRNN(32, seq) x2 > SimpleRNN(32)", "E301", 3, 5,
     "SimpleRNN cannot tell the model's input shape", "start with an explicit input"),
    # model-level
    ("model twice: Embedding(10, 4)\nmodel other: Embedding(10, 4)\nmodel twice: Embedding(10, 4)", "E208", 3, 7,
     "a model named 'twice' is already defined (line 1)", "its own name"),
    (EMB + "LSTM(3)\n  expect shapes (None, 3)", "E209", 3, 10, "unknown assertion 'expect shapes'",
     "did you mean 'shape'?"),
    (EMB + "LSTM(3)\n  expect latency 3", "E209", 3, 10, "unknown assertion 'expect latency'",
     "use: expect shape, expect params"),
    (EMB + "LSTM(3) expect params -1", "E202", 2, 25, "'expect params' expects a count", None),
    (EMB + "LSTM(3) expect shape 3", "E202", 2, 24, "expect shape expects a shape", None),
    (EMB + "LSTM(3) : (None, x)", "E202", 2, 20, "a shape holds non-negative integers and None", None),
])
def test_resolution_errors(text: str, code: str, line: int, column: int, message: str, hint: str | None) -> None:
    err = only_error(text)
    assert (err.code, err.span.line, err.span.column) == (code, line, column), str(err)  # type: ignore[union-attr]
    assert message in err.message
    if hint is None:
        assert err.hint is None or err.hint == ""
    else:
        assert err.hint is not None and hint in err.hint


def test_every_bad_layer_is_reported_in_order() -> None:
    errors = errors_of("Embedding(10, 4)\n> LTSM(3)\n> Dense()\n> LSTM(3, sequ)\n> Dense(2)")
    assert [(e.code, e.span.line, e.span.column) for e in errors] == [  # type: ignore[union-attr]
        ("E200", 2, 3), ("E204", 3, 3), ("E203", 4, 11)]


def test_an_error_inside_a_repeated_group_is_reported_once() -> None:
    errors = errors_of("Embedding(10, 4) > (LSTM(3, seq) > Dropot(0.1)) x4")
    assert [(e.code, e.span.column) for e in errors] == [("E200", 36)]  # type: ignore[union-attr]


def test_models_are_checked_independently() -> None:
    a, b = rnnspec.check("model a: Embedding(10, 4) > LTSM(3)\nmodel b: Embedding(10, 4) > LSTM(3)")
    assert [e.code for e in a.errors] == ["E200"] and b.ok


def test_errors_carry_the_path() -> None:
    (report,) = rnnspec.check(EMB + "LTSM(3)", path="nets/a.rnn")
    assert report.errors[0].span == Span("nets/a.rnn", 2, 3, 2, 7)


# ---------------------------------------------------------------- flags


@pytest.mark.parametrize("call, expected", [
    ("LSTM(3, seq)", {"return_sequences": True, "go_backwards": False}),
    ("LSTM(3, backwards)", {"return_sequences": False, "go_backwards": True}),
    ("LSTM(3, seq, backwards)", {"return_sequences": True, "go_backwards": True}),
    ("LSTM(3, seq=false)", {"return_sequences": False}),
    ("LSTM(3, seq=true)", {"return_sequences": True}),
    ("LSTM(3, backwards=false)", {"go_backwards": False}),
    ("GRU(3, seq, reset_after=false)", {"return_sequences": True, "reset_after": False}),
    ("GRU(3, reset_after)", {"reset_after": True}),
    ("SimpleRNN(3, relu, seq)", {"activation": "relu", "return_sequences": True}),
    ("LSTM(3, unroll, use_bias=False)", {"unroll": True, "use_bias": False}),
    ("Dense(3, use_bias)", {"use_bias": True, "activation": "linear"}),
    ("Dense(3, relu, use_bias=false)", {"use_bias": False, "activation": "relu"}),
    ("Dense(3, activation=None)", {"activation": "linear"}),
    ("Dense(3, 'relu')", {"activation": "relu"}),
])
def test_flags_and_keyword_spellings(call: str, expected: dict[str, object]) -> None:
    args = layer_args("Embedding(10, 4) > " + call)
    assert {k: args[k] for k in expected} == expected


def test_mask_zero_as_a_bare_flag_on_embedding() -> None:
    assert layer_args("Embedding(10, 4, mask_zero) > LSTM(3)", 0)["mask_zero"] is True
    assert layer_args("Embedding(10, 4) > LSTM(3)", 0)["mask_zero"] is False
    written = layer_args("Embedding(input_dim=10, output_dim=4, mask_zero=true)", 0)
    assert {k: written[k] for k in ("input_dim", "output_dim", "mask_zero")} == {
        "input_dim": 10, "output_dim": 4, "mask_zero": True}


def test_wrappers_resolve_their_inner_layers() -> None:
    args = layer_args("Embedding(10, 4) > Bidirectional(LSTM(3, seq), merge_mode=sum)")
    inner = args["layer"]
    assert inner.type_name == "LSTM" and inner.args["return_sequences"] is True  # type: ignore[attr-defined]
    assert args["merge_mode"] == "sum"
    report = ok("Input(5, 6, 4) > TimeDistributed(TimeDistributed(Dense(2)))")
    assert report.output == (None, 5, 6, 2) and report.total == 10


# ---------------------------------------------------------------- repeats, groups and Input


def test_repeats_and_groups_expand() -> None:
    report = ok("Embedding(10, 4) > (LSTM(4, seq) > Dropout(0.1)) x2 > ((GRU(4, seq)) x2 > Dense(4)) x3 > LSTM(2)")
    assert [r.type for r in report.rows] == (
        ["Embedding"] + ["LSTM", "Dropout"] * 2 + ["GRU", "GRU", "Dense"] * 3 + ["LSTM"])
    assert [r.name for r in report.rows][:4] == ["embedding", "lstm", "dropout", "lstm_1"]


def test_a_shape_note_after_a_repeated_group_is_about_its_last_layer() -> None:
    ok("Embedding(10, 4) > (LSTM(5, seq) > Dense(6)) x2 : (None, None, 6) > LSTM(2)")
    (err,) = errors_of("Embedding(10, 4) > (LSTM(5, seq) > Dense(6)) x2 : (None, None, 5) > LSTM(2)")
    assert (err.code, err.span.column) == ("E402", 51)  # type: ignore[union-attr]
    assert "'dense_1' (Dense) outputs (None, None, 6)" in err.message


def test_input_implied_by_embedding() -> None:
    report = ok("Embedding(10000, 32) > SimpleRNN(32)")
    assert report.input == Tensor((None, None), "int32")
    assert report.rows[0].input_shape == (None, None)
    assert report.output == (None, 32) and report.total == 322_080


def test_explicit_input() -> None:
    report = ok("Input(100, 32) > SimpleRNN(64, seq)")
    assert report.input == Tensor((None, 100, 32))
    assert [r.type for r in report.rows] == ["SimpleRNN"]  # Input is the model's input, not a row
    assert report.output == (None, 100, 64) and report.total == 6_208


def test_the_seed_one_liner() -> None:
    report = ok("Embedding(10000, 32) > SimpleRNN(32, seq) x3 > SimpleRNN(32)")
    assert report.output == (None, 32) and report.total == 328_320
    assert [r.name for r in report.rows] == [
        "embedding", "simple_rnn", "simple_rnn_1", "simple_rnn_2", "simple_rnn_3"]


# ---------------------------------------------------------------- the same model, written two ways


ONE_LINE = ("model tagger: Embedding(8000, 50, mask_zero=true) > (LSTM(64, seq) > Dropout(0.2)) x2 "
            "> Bidirectional(GRU(32, seq), merge_mode=sum) : (None, None, 32) > TimeDistributed(Dense(9, softmax)) "
            "expect shape (None, None, 9) expect params 481_577")
SPREAD = """\
# The same tagger, one layer per line.
model tagger:
    Embedding(8000, 50,
              mask_zero=true,)          # ids 0 are padding
    > (
        LSTM(64, seq)
        > Dropout(0.2)
      ) x 2
    > Bidirectional(GRU(32, seq),
                    merge_mode=sum)
      : (None, None, 32)
    >
    TimeDistributed(Dense(9, softmax))
    expect shape (None, None, 9)
    expect params 481_577                # checked against Keras
"""


def summary(report: ModelReport) -> list[tuple[object, ...]]:
    return [(r.name, r.type, r.input_shape, r.output_shape, r.trainable, r.non_trainable) for r in report.rows]


def test_one_line_and_many_lines_infer_the_same() -> None:
    (flat,), (spread,) = rnnspec.check(ONE_LINE), rnnspec.check(SPREAD.replace("\n", "\r\n"))
    assert flat.ok and spread.ok, [str(e) for e in flat.errors + spread.errors]
    assert summary(flat) == summary(spread)
    assert (flat.name, flat.input, flat.output, flat.total) == (spread.name, spread.input, spread.output, spread.total)
    assert flat.output == (None, None, 9)
