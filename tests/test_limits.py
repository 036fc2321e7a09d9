"""Limits instead of exhaustion: huge repeats are folded, not unrolled; deep nesting, huge files and huge numbers
are located errors; a model too big to build is checked but refused by the backends."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import rnnspec
from rnnspec import infer
from rnnspec.api import check
from rnnspec.cli import main
from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport
from rnnspec.lexer import MAX_NESTING
from rnnspec.parser import MAX_SOURCE_CHARS
from rnnspec.unparse import spec_text


def one(spec: str) -> ModelReport:
    (report,) = check(spec)
    return report


def codes(spec: str) -> list[str]:
    try:
        return [e.code for r in check(spec) for e in r.errors]
    except RnnspecError as err:
        return [err.code]


HUGE = "Input(5, 3) > LSTM(32, seq) x 1000000 > Dense(1)"


def test_a_huge_repeat_counts_every_copy_from_two_inferred_ones() -> None:
    """The first copy sees 3 features, every later copy 32: two copies are inferred, 999,998 are counted."""
    folded = one(HUGE)
    first = one("Input(5, 3) > LSTM(32, seq)").total
    steady = one("Input(5, 3) > LSTM(32, seq) x 2").total - first
    head = one("Input(5, 32) > Dense(1)").total
    assert folded.ok
    assert folded.total == first + 999_999 * steady + head
    assert folded.layer_count == 1_000_001
    assert len(folded.rows) == 3 and folded.folds[0].copies == 999_998
    assert folded.output == (None, 5, 1)
    assert folded.rows[-1].name == "dense"


REPEATED = [
    "Input(5, 3) > LSTM(4, seq) x 40 > LSTM(2)",
    "Input(7, 3) > (GRU(6, seq) > Dropout(0.1) > LSTM(5, seq)) x 12 > SimpleRNN(3)",
    "Input(9, 2) > (Dense(4) > (SimpleRNN(4, seq) x 5 > Dense(3)) x 4) x 3 > LSTM(2)",
    "Embedding(50, 6, mask_zero) > (Bidirectional(LSTM(3, seq)) > LayerNormalization) x 9 > GRU(2)",
    "Input(12, 4) > (Conv1D(4, 2, padding=same) > Dense(4)) x 20 > GlobalAveragePooling1D",
]


@pytest.mark.parametrize("spec", REPEATED)
def test_folding_gives_the_counts_names_and_shapes_of_unrolling(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unrolled inference is the one proven against Keras; folded must agree with it on everything it reports."""
    unrolled = one(spec)
    monkeypatch.setattr(infer, "MAX_UNROLLED", 4)
    folded = one(spec)
    assert folded.ok and folded.folds, "the limit was lowered so that this model folds"
    assert len(folded.rows) < len(unrolled.rows)
    assert (folded.total, folded.trainable, folded.non_trainable, folded.output, folded.layer_count) == (
        unrolled.total, unrolled.trainable, unrolled.non_trainable, unrolled.output, len(unrolled.rows))
    assert folded.rows[-1].name == unrolled.rows[-1].name  # the names after a fold continue Keras's numbering


@pytest.mark.keras
@pytest.mark.parametrize("spec", REPEATED)
def test_folded_params_equal_keras(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = rnnspec.compile(spec)
    monkeypatch.setattr(infer, "MAX_UNROLLED", 4)
    folded = one(spec)
    assert folded.ok and folded.folds
    assert folded.total == model.count_params()
    assert folded.output == tuple(model.outputs[0].shape)
    assert folded.layer_count == len(model.layers)


def test_a_repeat_that_keeps_changing_the_shape_is_not_folded_forever() -> None:
    """Each copy shortens the sequence: the spec is inferred until it fails, never a million times."""
    report = one("Input(50, 3) > Conv1D(3, 3) x 1000000")
    assert [e.code for e in report.errors] == ["E300"]
    growing = one("Input(None, 3) > (Dense(3) > Reshape((-1, 3))) x 1000000")
    assert growing.ok or [e.code for e in growing.errors] == ["E300"]


def test_a_shape_note_inside_a_folded_repeat_is_checked_and_reported_once() -> None:
    report = one("Input(5, 3) > (LSTM(32, seq) : (None, 5, 3)) x 1000000")
    assert [(e.code, e.span.column) for e in report.errors] == [("E402", 32)]
    assert one("Input(5, 32) > (LSTM(32, seq) : (None, 5, 32)) x 1000000").ok


@pytest.mark.parametrize("count, ok", [(1_000_000_000, True), (1_000_000_001, False), (10**40, False)])
def test_the_number_of_layers_is_limited(count: int, ok: bool) -> None:
    assert codes(f"Input(5, 3) > LSTM(32, seq) x {count}") == ([] if ok else ["E207"])


def test_nested_repeats_multiply_into_the_limit() -> None:
    assert codes("Input(5, 3) > (LSTM(32, seq) x 100000) x 100000") == ["E207"]
    assert one("Input(5, 3) > (LSTM(32, seq) x 10000) x 100000").layer_count == 10**9


def test_a_model_too_big_to_build_is_refused_by_every_backend() -> None:
    with pytest.raises(RnnspecError) as err:
        rnnspec.compile(HUGE, backend="numpy")
    assert err.value.code == "E502" and "1,000,001 layers" in err.value.message
    with pytest.raises(RnnspecError) as err:
        rnnspec.compile(HUGE)  # Keras: refused before TensorFlow is touched
    assert err.value.code == "E502"


def test_the_cli_refuses_to_run_or_compile_it(tmp_path: Path) -> None:
    spec = tmp_path / "huge.rnn"
    spec.write_text(HUGE)
    runner = CliRunner()
    run = runner.invoke(main, ["run", str(spec), "--random", "2,5"])
    assert run.exit_code == 1 and "E502" in run.output
    compiled = runner.invoke(main, ["compile", str(spec), "--backend", "numpy", "-o", str(tmp_path / "m.npz")])
    assert compiled.exit_code == 1 and "E502" in compiled.output
    assert not (tmp_path / "m.npz").exists()


def test_summary_and_json_show_a_fold_as_one_line() -> None:
    runner = CliRunner()
    summary = runner.invoke(main, ["summary", "-e", HUGE]).output
    assert "... 999,998 more copies (repeat at line 1, column 15)" in summary
    assert f"Total params: {one(HUGE).total:,}" in summary
    assert summary.count("\n") < 30
    data = json.loads(runner.invoke(main, ["check", "--format", "json", "-e", HUGE]).output)
    model = data["sources"][0]["models"][0]
    assert model["layer_count"] == 1_000_001 and len(model["layers"]) == 3
    assert model["folds"][0] | {"location": None} == {
        "first_layer": 1, "end_layer": 2, "copies": 999_998, "layer_count": 999_998,
        "trainable_params": model["folds"][0]["trainable_params"], "non_trainable_params": 0, "location": None}
    assert sum(r["trainable_params"] for r in model["layers"]) + model["folds"][0]["trainable_params"] == \
        model["total_params"]


def test_fill_writes_a_folded_repeat_as_a_repeat() -> None:
    spec = "Input(5, 3) > (LSTM(32, seq) x 1000 > GRU(8, seq)) x 100000 > LSTM(2)"
    text = spec_text(one(spec), fill=True)
    assert "x1000 " in text and "x100000" in text and len(text) < 2000
    again = one(text)
    assert (again.total, again.layer_count, again.output) == (one(spec).total, one(spec).layer_count, one(spec).output)


def test_brackets_nested_past_the_limit_are_one_located_error() -> None:
    ok = "Input(3) > " + "(" * (MAX_NESTING - 1) + "Dense(1)" + ")" * (MAX_NESTING - 1)
    assert one(ok).ok
    deep = "Input(3) >\n" + "(" * 5000 + "Dense(1)" + ")" * 5000
    (report,) = check(deep, path="deep.rnn")
    assert [(e.code, e.span[:3]) for e in report.errors] == [("E103", ("deep.rnn", 2, MAX_NESTING + 1))]


def test_a_spec_past_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    (report,) = check("Input(3) > Dense(1)\n" + " " * MAX_SOURCE_CHARS, path="big.rnn")
    assert [e.code for e in report.errors] == ["E104"]
    big = tmp_path / "big.rnn"
    big.write_bytes(b"Input(3) > Dense(1)\n" + b"#" * MAX_SOURCE_CHARS)
    good = tmp_path / "good.rnn"
    good.write_text("Input(3) > Dense(1)\n")
    result = CliRunner().invoke(main, ["check", str(big), str(good)])
    assert result.exit_code == 2
    assert "E104" in result.output and "1 ok" in result.output


@pytest.mark.parametrize("spec, where", [
    ("Input(5, 3) > LSTM(99999999999999999999)", 20),
    ("Input(5, 3) > LSTM(2147483648)", 20),
    ("Input(5, 99999999999) > LSTM(2)", 10),
    ("Input(5, 3) > Conv1D(4, (3000000000,))", 26),
    ("Input(5, 3) > LayerNormalization(epsilon=1e400)", 42),
    ("Input(5, 3) > Dropout(1" + "0" * 400 + ")", 23),
])
def test_numbers_past_what_can_be_built_are_range_errors(spec: str, where: int) -> None:
    (report,) = check(spec)
    assert [(e.code, e.span.column) for e in report.errors] == [("E203", where)]


def test_the_largest_size_is_accepted() -> None:
    assert one("Input(5, 3) > Dense(2147483647)").ok


def test_broken_blocks_take_memory_in_proportion_to_the_file() -> None:
    """Each broken block's error kept a blanked copy of the whole file alive (8,000 blocks: 2.9 GB)."""
    import tracemalloc

    from rnnspec.parser import parse_blocks

    text = "".join(f"model m{i}:\n    Input(4) > Dense(4 >\n" for i in range(1000))
    parse_blocks(text[:100])  # the parser's tables are built once per process, not counted
    tracemalloc.start()
    try:
        _, broken = parse_blocks(text)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(broken) == 1000
    assert peak < 64 * len(text) and kept < 64 * len(text)  # about 1 KB a block (the error, its span, its words)
