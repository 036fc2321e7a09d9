"""Weights in and out of the NumPy backend: from a Keras model, a .keras archive, a .weights.h5 and a legacy .h5
(equal outputs to Keras), without TensorFlow in the loading process; the .npz format; every mismatch named by
layer and weight; the `run` and `compile --backend numpy` commands; and the tutorial in docs/numpy.md."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import rnnspec
from rnnspec.backends.numpy.base import kernels
from rnnspec.backends.numpy.weights_io import (
    NpzContents, load_from_keras, load_keras_file, load_npz, load_npz_weights, load_weights, save_npz, spec_text,
)
from rnnspec.cli import main
from rnnspec.errors import RnnspecError
from rnnspec.layers.base import LayerNode

from .conftest import ROOT, SPECS

pytest.importorskip("h5py")

# Keras warns when Conv1D drops the Embedding's mask, as it should
pytestmark = pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning",
                                        "ignore:__array__ implementation:DeprecationWarning")

SPEC = "Input(7, 3) > LSTM(4, seq) > Bidirectional(GRU(2, seq), merge_mode=sum) > SimpleRNN(3, activation=relu)"
WIDE = ("Embedding(20, 6, mask_zero) > Conv1D(5, 2, padding=same) > BatchNormalization "
        "> TimeDistributed(Dense(4, lora_rank=2)) > LSTM(3, seq) > LayerNormalization > GRU(2) > Dense(2)")
TOL = 1e-5


def needs(spec: str) -> None:
    missing = {row.type for row in rnnspec.select(spec).rows} - set(kernels())
    if missing:
        pytest.skip(f"no NumPy kernel yet for {', '.join(sorted(missing))}")


def keras_model(spec: str, seed: int = 0) -> Any:
    """The Keras model of a spec with random non-trivial weights (variances positive)."""
    model = rnnspec.compile(spec, backend="keras")
    rng = np.random.default_rng(seed)
    model.set_weights([np.abs(rng.normal(size=w.shape)).astype("float32") + 0.5 if "variance" in w.path
                       else rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.weights])
    return model


def inputs(spec: str, seed: int = 1, batch: int = 5, steps: int = 7) -> np.ndarray:
    report = rnnspec.select(spec)
    rng = np.random.default_rng(seed)
    assert report.input is not None
    if report.input.dtype.startswith("int"):
        ids = rng.integers(1, 20, size=(batch, steps))
        ids[0, -2:] = 0
        return ids
    return rng.normal(size=(batch, *(steps if d is None else d for d in report.input.shape[1:]))).astype("float32")


def numpy_model(spec: str, seed: int = 9) -> Any:
    return rnnspec.compile(spec, backend="numpy", seed=seed)


def keras_output(model: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(x, training=False))


# ------------------------------------------------------------------------------------------ Keras -> NumPy


@pytest.mark.keras
@pytest.mark.parametrize("spec", [SPEC, WIDE])
@pytest.mark.parametrize("how", ["model", ".keras", ".weights.h5", "legacy .h5"])
def test_keras_weights_give_keras_outputs(spec: str, how: str, tmp_path: Path) -> None:
    needs(spec)
    km = keras_model(spec)
    x = inputs(spec)
    model = numpy_model(spec)
    if how == "model":
        load_from_keras(model, km)
    elif how == ".keras":
        km.save(tmp_path / "m.keras")
        load_keras_file(model, tmp_path / "m.keras")
    elif how == ".weights.h5":
        km.save_weights(tmp_path / "m.weights.h5")
        load_keras_file(model, str(tmp_path / "m.weights.h5"))
    else:
        km.save(tmp_path / "m.h5")
        load_keras_file(model, tmp_path / "m.h5")
    np.testing.assert_allclose(model(x), keras_output(km, x), atol=TOL)
    if how in (".keras", ".weights.h5") and "lora" in spec:  # the kernel is saved merged; factors load as zeros
        assert all(not a.any() for n, a in model.named_weights().items() if "/lora_" in n)


@pytest.mark.keras
def test_lora_weights_from_a_keras_model_are_taken_as_they_are() -> None:
    spec = "Input(5, 3) > Dense(4, lora_rank=2)"
    needs(spec)
    km = keras_model(spec)
    model = numpy_model(spec)
    load_from_keras(model, km)
    assert [n for n in model.weight_names()] == ["dense/kernel", "dense/bias", "dense/lora_kernel_a",
                                                  "dense/lora_kernel_b"]
    np.testing.assert_array_equal(model.get_weights()[2], km.get_weights()[2])
    x = inputs(spec)
    np.testing.assert_allclose(model(x), keras_output(km, x), atol=TOL)


@pytest.mark.keras
def test_h5_groups_match_by_storage_key_when_layer_names_differ(tmp_path: Path) -> None:
    """Keras stores layers by class and position (`lstm`, `gru`), whatever the layers are called."""
    import keras

    km = keras.Sequential([keras.Input((7, 3)), keras.layers.LSTM(4, return_sequences=True, name="encoder"),
                           keras.layers.GRU(2, name="decoder")])
    km.set_weights([np.random.default_rng(3).normal(size=w.shape).astype("float32") for w in km.weights])
    km.save_weights(tmp_path / "named.weights.h5")
    model = numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)")
    load_keras_file(model, tmp_path / "named.weights.h5")
    x = inputs("Input(7, 3) > LSTM(4, seq)")
    np.testing.assert_allclose(model(x), keras_output(km, x), atol=TOL)


@pytest.mark.keras
def test_h5_groups_match_by_layer_name_then_order_for_other_classes(tmp_path: Path) -> None:
    import keras


    class MyLSTM(keras.layers.LSTM):
        pass

    class Recurrent(keras.layers.GRU):
        pass

    km = keras.Sequential([keras.Input((7, 3)), MyLSTM(4, return_sequences=True, name="lstm"),
                           Recurrent(2, name="whatever")])
    km.set_weights([np.random.default_rng(4).normal(size=w.shape).astype("float32") for w in km.weights])
    km.save_weights(tmp_path / "custom.weights.h5")
    model = numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)")
    load_keras_file(model, tmp_path / "custom.weights.h5")  # my_lstm by the name 'lstm', recurrent by order
    x = inputs("Input(7, 3) > LSTM(4, seq)")
    np.testing.assert_allclose(model(x), keras_output(km, x), atol=TOL)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """SPEC saved by Keras as .keras, .weights.h5 and .h5, and by rnnspec as .npz; the input and Keras's output."""
    folder = tmp_path_factory.mktemp("saved")
    km = keras_model(SPEC)
    files = {"keras": folder / "m.keras", "weights": folder / "m.weights.h5", "legacy": folder / "m.h5",
             "npz": folder / "m.npz"}
    km.save(files["keras"])
    km.save_weights(files["weights"])
    km.save(files["legacy"])
    model = numpy_model(SPEC)
    load_from_keras(model, km)
    save_npz(model, files["npz"])
    x = inputs(SPEC)
    np.save(folder / "x.npy", x)
    return {"folder": folder, "files": files, "x": x, "expected": keras_output(km, x), "keras": km}


@pytest.mark.keras
def test_loading_files_and_predicting_imports_no_tensorflow(saved: dict[str, Any]) -> None:
    folder, files = saved["folder"], saved["files"]
    script = """
import sys
import numpy as np
import rnnspec
from rnnspec.backends.numpy.weights_io import load_keras_file, load_npz
spec, x = sys.argv[1], np.load(sys.argv[2])
for path in sys.argv[3:]:
    if path.endswith(".npz"):
        model = load_npz(path)
    else:
        model = rnnspec.compile(spec, backend="numpy")
        load_keras_file(model, path)
    np.save(path + ".out.npy", model.predict(x, batch_size=2))
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch")))
"""
    paths = [str(files[k]) for k in ("keras", "weights", "legacy", "npz")]
    proc = subprocess.run([sys.executable, "-c", script, SPEC, str(folder / "x.npy"), *paths],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    for path in paths:
        np.testing.assert_allclose(np.load(path + ".out.npy"), saved["expected"], atol=TOL)


@pytest.mark.keras
def test_load_weights_picks_the_format_by_suffix(saved: dict[str, Any], tmp_path: Path) -> None:
    for key in ("keras", "weights", "legacy", "npz"):
        model = numpy_model(SPEC)
        load_weights(model, saved["files"][key])
        np.testing.assert_allclose(model(saved["x"]), saved["expected"], atol=TOL)
    with pytest.raises(RnnspecError) as info:
        load_weights(numpy_model(SPEC), tmp_path / "weights.bin")
    assert info.value.code == "E500"


# ------------------------------------------------------------------------------------------ .npz


def test_npz_round_trip_keeps_spec_name_weights_and_outputs(tmp_path: Path) -> None:
    model = numpy_model(SPEC, seed=5)
    written = save_npz(model, tmp_path / "m.npz")
    assert written == tmp_path / "m.npz"
    contents = NpzContents(written)
    assert contents.model == "model" and contents.names == model.weight_names() and contents.dtype == "float32"
    again = load_npz(written)
    assert again.name == model.name and again.weight_names() == model.weight_names()
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = inputs(SPEC)
    np.testing.assert_array_equal(again(x), model(x))


def test_npz_keeps_the_source_text_given_and_picks_the_model_by_name(tmp_path: Path) -> None:
    source = ("# two models\nmodel first:\n    Input(None, 3) > GRU(2)\n\n"
              "model second:   # the one saved\n    Input(None, 3)\n    > LSTM(4, seq)  # encoder\n"
              "    > SimpleRNN(2)\n")
    report = rnnspec.select(source, model="second", path="two.rnn")
    model = rnnspec.compile(report, backend="numpy")
    save_npz(model, tmp_path / "second.npz", source=source)
    contents = NpzContents(tmp_path / "second.npz")
    assert contents.spec == source and contents.spec_path == "two.rnn" and contents.model == "second"
    again = load_npz(tmp_path / "second.npz")
    assert again.name == "second" and again.report.span.path == "two.rnn"
    save_npz(again, tmp_path / "again.npz")  # the loaded text is kept, comments and all
    assert NpzContents(tmp_path / "again.npz").spec == source
    with pytest.raises(RnnspecError, match="does not describe model 'second'"):
        save_npz(model, tmp_path / "x.npz", source=source.replace("LSTM(4", "LSTM(5"))


def test_npz_float64_model_loads_as_float64(tmp_path: Path) -> None:
    model = rnnspec.compile(SPEC, backend="numpy", dtype="float64")
    save_npz(model, tmp_path / "m64.npz")
    again = load_npz(tmp_path / "m64.npz")
    assert again.dtype == np.float64 and again(inputs(SPEC)).dtype == np.float64
    assert load_npz(tmp_path / "m64.npz", dtype="float32").dtype == np.float32


def _specs_in_repository() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SPECS.rglob("*.rnn")):
        for report in rnnspec.check(path.read_text(), path=str(path)):
            if report.ok:
                found.append((str(path.relative_to(ROOT)), report.name))
    return found


@pytest.mark.parametrize(("path", "name"), _specs_in_repository())
def test_written_spec_recreates_every_bundled_model(path: str, name: str) -> None:
    """Without the source, save_npz writes a spec from the resolved arguments: same layers, names, weights."""
    report = rnnspec.select((ROOT / path).read_text(), model=name, path=path)
    again = rnnspec.select(spec_text(report), model=name)
    assert again.input == report.input
    assert [(r.name, r.type, r.output_shape, r.weights) for r in again.rows] == \
        [(r.name, r.type, r.output_shape, r.weights) for r in report.rows]
    assert [plain(r.node) for r in again.rows] == [plain(r.node) for r in report.rows]


def plain(node: Any) -> Any:
    """A layer node as comparable values (wrapped layers included)."""
    if isinstance(node, LayerNode):
        return node.type_name, {k: plain(v) for k, v in node.args.items()}
    if isinstance(node, tuple):  # StackedRNNCells's cells
        return tuple(plain(item) for item in node)
    return node


def test_written_spec_keeps_implied_and_explicit_inputs() -> None:
    assert spec_text(rnnspec.select("Embedding(50, 4) > SimpleRNN(3)")).splitlines()[1].strip() == \
        "Embedding(50, 4)"
    assert "Input(20, dtype=int32, batch_size=8)" in spec_text(
        rnnspec.select("Input(20, dtype=int32, batch_size=8) > Embedding(50, 4, mask_zero) > GRU(3)"))


# ------------------------------------------------------------------------------------------ mismatches


def error_of(call: Any, *args: Any) -> RnnspecError:
    with pytest.raises(RnnspecError) as info:
        call(*args)
    return info.value


def h5_of(spec: str, folder: Path, name: str = "w") -> Path:
    path = folder / f"{name}.weights.h5"
    keras_model(spec).save_weights(path)
    return path


@pytest.mark.keras
def test_h5_missing_weight_is_named(tmp_path: Path) -> None:
    path = h5_of("Input(7, 3) > LSTM(4, seq) > SimpleRNN(2, use_bias=false)", tmp_path)
    err = error_of(load_keras_file, numpy_model("Input(7, 3) > LSTM(4, seq) > SimpleRNN(2)"), path)
    assert err.code == "E501"
    assert "missing weight simple_rnn/bias (2,) of layer 'simple_rnn' (SimpleRNN" in err.message


@pytest.mark.keras
def test_h5_missing_layer_is_named(tmp_path: Path) -> None:
    path = h5_of("Input(7, 3) > LSTM(4, seq) > GRU(2)", tmp_path)
    err = error_of(load_keras_file, numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(4, seq) > GRU(2)"), path)
    assert err.code == "E501" and "no weights for layer 'gru_1' (GRU)" in err.message
    assert err.hint == "layers with weights in the file: gru, lstm"


@pytest.mark.keras
def test_h5_extra_weight_and_extra_layer_are_named(tmp_path: Path) -> None:
    path = h5_of("Input(7, 3) > GRU(2)", tmp_path, "bias")
    err = error_of(load_keras_file, numpy_model("Input(7, 3) > GRU(2, use_bias=false)"), path)
    assert err.code == "E501"
    assert "extra weight layers/gru/cell/vars/2 (2, 6) for layer 'gru' (GRU" in err.message
    path = h5_of("Input(7, 3) > LSTM(4, seq) > GRU(2)", tmp_path, "two")
    err = error_of(load_keras_file, numpy_model("Input(7, 3) > LSTM(4, seq)"), path)
    assert err.code == "E501" and "does not have: gru (layers/gru/cell/vars/0" in err.message


@pytest.mark.keras
def test_h5_wrong_shape_and_wrong_order_are_named(tmp_path: Path) -> None:
    path = h5_of("Input(7, 3) > LSTM(4, seq) > GRU(3)", tmp_path, "shape")
    err = error_of(load_keras_file, numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)"), path)
    assert err.code == "E501"
    assert "weight gru/kernel of layer 'gru' (GRU, read from gru) should have shape (4, 6)" in err.message
    assert "(4, 9) at layers/gru/cell/vars/0" in err.message
    path = h5_of("Input(7, 3) > GRU(4, seq) > LSTM(2)", tmp_path, "order")
    err = error_of(load_keras_file, numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)"), path)
    assert err.code == "E501" and "weight lstm/kernel of layer 'lstm' (LSTM" in err.message


@pytest.mark.keras
def test_keras_model_mismatches_are_named() -> None:
    err = error_of(load_from_keras, numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)"),
                   keras_model("Input(7, 3) > LSTM(4, seq) > GRU(3)"))
    assert err.code == "E501" and "gru/kernel" in err.message and "(4, 6)" in err.message
    err = error_of(load_from_keras, numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)"),
                   keras_model("Input(7, 3) > LSTM(4, seq)"))
    assert err.code == "E501" and "missing weight gru/kernel of layer 'gru'" in err.message
    err = error_of(load_from_keras, numpy_model("Input(7, 3) > LSTM(4, seq)"),
                   keras_model("Input(7, 3) > LSTM(4, seq) > GRU(2)"))
    assert err.code == "E501" and "extra weight" in err.message and "gru_cell/kernel" in err.message
    err = error_of(load_from_keras, numpy_model("Input(7, 3) > SimpleRNN(3, seq, use_bias=false) > SimpleRNN(3)"),
                   keras_model("Input(7, 3) > SimpleRNN(3, seq) > SimpleRNN(3, use_bias=false)"))
    assert err.code == "E501" and "should be simple_rnn_1/kernel (layer 'simple_rnn_1')" in err.message
    assert "simple_rnn_cell/bias" in err.message


def test_set_weights_in_the_wrong_order_names_the_weight() -> None:
    model = numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)")
    err = error_of(model.set_weights, model.get_weights()[::-1])
    assert err.code == "E501" and "lstm/kernel" in err.message


def test_npz_mismatches_are_named(tmp_path: Path) -> None:
    save_npz(numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)"), tmp_path / "m.npz")
    err = error_of(load_npz_weights, numpy_model("Input(7, 3) > LSTM(4, seq) > SimpleRNN(2)"), tmp_path / "m.npz")
    assert err.code == "E501" and "is simple_rnn/kernel (layer 'simple_rnn')" in err.message
    assert "gru/kernel there" in err.message
    longer = numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2, seq) > GRU(2)")
    err = error_of(load_npz_weights, longer, tmp_path / "m.npz")
    assert err.code == "E501" and "missing weight gru_1/kernel (layer 'gru_1')" in err.message
    err = error_of(load_npz_weights, numpy_model("Input(7, 3) > LSTM(4, seq)"), tmp_path / "m.npz")
    assert err.code == "E501" and "extra weight gru/kernel (4, 6)" in err.message
    err = error_of(load_npz_weights, numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(3)"), tmp_path / "m.npz")
    assert err.code == "E501" and "gru/kernel" in err.message and "(4, 9)" in err.message


def test_tampered_npz_is_refused(tmp_path: Path) -> None:
    save_npz(numpy_model("Input(7, 3) > LSTM(4, seq) > GRU(2)"), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as data:
        entries = {k: data[k] for k in data.files}
    entries["weight_0003"] = np.zeros((4, 5), "float32")
    np.savez(tmp_path / "shape.npz", **entries)
    err = error_of(load_npz, tmp_path / "shape.npz")
    assert err.code == "E501" and "gru/kernel" in err.message and "(4, 5)" in err.message
    entries["weight_0003"] = data_kernel = np.zeros((4, 6), "float32")
    entries["spec"] = np.array("Input(7, 3) > LSTM(4, seq) > GRU(3)")  # the spec no longer fits the weights
    np.savez(tmp_path / "spec.npz", **entries)
    err = error_of(load_npz, tmp_path / "spec.npz")
    assert err.code == "E501" and "gru/kernel" in err.message and "(4, 9)" in err.message
    entries["spec"] = np.array("Input(7, 3) > LSTM(4, seq) > GRU(2")
    np.savez(tmp_path / "syntax.npz", **entries)
    assert error_of(load_npz, tmp_path / "syntax.npz").code == "E101"
    entries["spec"] = np.array("Input(7, 3) > LSTM(4, seq) > GRU(2, seq)")  # same weights, another output: fine
    np.savez(tmp_path / "seq.npz", **entries)
    assert load_npz(tmp_path / "seq.npz").report.output == (None, 7, 2)
    np.testing.assert_array_equal(load_npz(tmp_path / "seq.npz").get_weights()[3], data_kernel)
    entries["format_version"] = np.array(99)
    np.savez(tmp_path / "new.npz", **entries)
    assert "version 99" in error_of(load_npz, tmp_path / "new.npz").message
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    assert error_of(load_npz, tmp_path / "plain.npz").code == "E500"
    assert error_of(load_npz, tmp_path / "missing.npz").code == "E500"


def test_unreadable_keras_files_and_missing_h5py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = numpy_model(SPEC)
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5")
    assert error_of(load_keras_file, model, tmp_path / "junk.weights.h5").code == "E500"
    assert error_of(load_keras_file, model, tmp_path / "missing.keras").code == "E500"
    monkeypatch.setitem(sys.modules, "h5py", None)
    err = error_of(load_keras_file, model, tmp_path / "junk.weights.h5")
    assert err.code == "E501" and "rnnspec[h5]" in (err.hint or "")


# ------------------------------------------------------------------------------------------ CLI


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


DIGEST = re.compile(r"^mean \S+  std \S+  sha256 [0-9a-f]{12}$", re.M)


def test_cli_run_random_input_prints_shape_and_digest() -> None:
    result = run("run", "-e", "Input(None, 3) > LSTM(4, seq) > GRU(2)", "--random", "2,5", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "model: input (2, 5, 3) float32 -> output (2, 2) float32" in result.output
    assert DIGEST.search(result.output)
    assert run("run", "-e", "Input(None, 3) > LSTM(4, seq) > GRU(2)", "--random", "2,5", "--seed", "3").output \
        == result.output


def test_cli_run_ids_for_embedding() -> None:
    spec = "Embedding(50, 4, mask_zero) > SimpleRNN(3)"
    needs(spec)
    result = run("run", "-e", spec, "--random", "4,6")
    assert result.exit_code == 0, result.output
    assert "input (4, 6) int32 -> output (4, 3) float32" in result.output


@pytest.mark.keras
def test_cli_run_with_weights_and_input_matches_keras(saved: dict[str, Any], tmp_path: Path) -> None:
    folder, files = saved["folder"], saved["files"]
    out = tmp_path / "y.npy"
    for weights in ("keras", "weights", "legacy"):
        result = run("run", "-e", SPEC, "--weights", str(files[weights]), "--input", str(folder / "x.npy"),
                     "-o", str(out))
        assert result.exit_code == 0, result.output
        assert "output (5, 3) float32" in result.output and f"saved the output to {out}" in result.output
        np.testing.assert_allclose(np.load(out), saved["expected"], atol=TOL)
    by_file = run("run", str(files["npz"]), "--input", str(folder / "x.npy"))
    by_weights = run("run", "--weights", str(files["npz"]), "--input", str(folder / "x.npy"))
    assert by_file.exit_code == by_weights.exit_code == 0
    assert by_file.output == by_weights.output
    assert DIGEST.search(by_file.output)


@pytest.mark.keras
def test_cli_run_errors_and_exit_codes(saved: dict[str, Any], tmp_path: Path) -> None:
    folder, files = saved["folder"], saved["files"]
    wrong = run("run", "-e", "Input(7, 3) > LSTM(4, seq) > GRU(2)", "--weights", str(files["weights"]),
                "--random", "2")
    assert wrong.exit_code == 1 and "error[E501]" in wrong.output
    spec_error = run("run", "-e", "Input(7, 3) > LSTM(4)\n> GRU(2)", "--random", "2")
    assert spec_error.exit_code == 1 and "error[E300]" in spec_error.output and "^^^" in spec_error.output
    bad_input = run("run", "-e", "Input(None, 4) > GRU(2)", "--input", str(folder / "x.npy"))
    assert bad_input.exit_code == 1 and "takes inputs of shape (None, None, 4)" in bad_input.output
    assert run("run", "-e", "Input(None, 4) > GRU(2)", "--input", str(tmp_path / "no.npy")).exit_code == 2
    assert run("run", "-e", "Input(None, 4) > GRU(2)", "--random", "2").exit_code == 2
    assert run("run", "-e", "Input(5, 4) > GRU(2)", "--random", "2,6").exit_code == 2
    assert run("run", "-e", "Input(5, 4) > GRU(2)", "--random", "x").exit_code == 2
    assert run("run", "-e", "Input(5, 4) > GRU(2)").exit_code == 2
    assert run("run", "--random", "2").exit_code == 2
    assert run("run", str(tmp_path / "none.npz"), "--random", "2").exit_code == 2
    named = run("run", str(files["npz"]), "--model", "other", "--random", "2")
    assert named.exit_code == 1 and "error[E210]" in named.output


@pytest.mark.keras
def test_cli_compile_numpy_saves_fresh_or_given_weights(saved: dict[str, Any], tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.npz"
    result = run("compile", "-e", SPEC, "--backend", "numpy", "-o", str(fresh), "--seed", "4")
    assert result.exit_code == 0, result.output
    assert f"saved model (242 params, fresh weights, seed 4) to {fresh}" in result.output
    expected = numpy_model(SPEC, seed=4)
    for a, b in zip(load_npz(fresh).get_weights(), expected.get_weights()):
        np.testing.assert_array_equal(a, b)
    converted = tmp_path / "converted.npz"
    result = run("compile", "-e", SPEC, "--backend", "numpy", "--weights", str(saved["files"]["keras"]),
                 "-o", str(converted))
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(load_npz(converted)(saved["x"]), saved["expected"], atol=TOL)
    spec_file = tmp_path / "two.rnn"
    spec_file.write_text("model a: Input(None, 3) > GRU(2)\nmodel b: Input(None, 3) > LSTM(2)  # this one\n")
    result = run("compile", str(spec_file), "--model", "b", "--backend", "numpy", "-o", str(tmp_path / "b.npz"))
    assert result.exit_code == 0, result.output
    assert NpzContents(tmp_path / "b.npz").spec == spec_file.read_text()
    assert run("compile", "-e", SPEC, "--backend", "numpy", "-o", str(tmp_path / "m.keras")).exit_code == 2
    assert run("compile", "-e", SPEC, "-o", str(tmp_path / "m.keras"), "--weights", str(fresh)).exit_code == 2
    bad = run("compile", "-e", "Input(7, 3) > LSTM(4, seq) > GRU(3)", "--backend", "numpy",
              "--weights", str(saved["files"]["npz"]), "-o", str(tmp_path / "bad.npz"))
    assert bad.exit_code == 1 and "error[E501]" in bad.output


# ------------------------------------------------------------------------------------------ docs


def blocks(page: Path) -> list[tuple[str, str]]:
    return re.findall(r"^```(\w+)\n(.*?)^```", page.read_text(), re.M | re.S)


@pytest.mark.keras
def test_numpy_tutorial_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.chdir(tmp_path)
    found = blocks(ROOT / "docs" / "numpy.md")
    assert [kind for kind, _ in found].count("python") >= 5 and any(kind == "sh" for kind, _ in found)
    namespace: dict[str, Any] = {"__name__": "numpy_tutorial"}
    outputs = []
    for kind, code in found:
        if kind == "python":
            exec(compile(code, "docs/numpy.md", "exec"), namespace)  # noqa: S102
        elif kind == "sh":
            for line in code.splitlines():
                words = shlex.split(line, comments=True)
                if not words:
                    continue
                assert words[0] == "rnnspec", line
                result = run(*words[1:])
                assert result.exit_code == 0, (line, result.output)
                outputs.append(result.output)
    printed = capsys.readouterr().out
    assert "['simple_rnn/kernel', 'simple_rnn/recurrent_kernel', 'simple_rnn/bias']" in printed
    assert "model (None, 100, 64)" in printed
    # the first two commands run the same model on the same input: the same lines, as the page says
    assert outputs[0] == outputs[1].replace("saved the output to y.npy\n", "")
    assert outputs[0].startswith("model: input (1, 100, 32) float32 -> output (1, 100, 64) float32\n")
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), namespace["y"], atol=TOL)
    assert json.dumps(NpzContents(tmp_path / "converted.npz").names) == json.dumps(namespace["model"].weight_names())
