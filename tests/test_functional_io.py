"""Weight files and the CLI for functional models: Keras's `.keras`, `.weights.h5` and legacy `.h5` of a functional
model load into the NumPy model with Keras's outputs, the rnnspec `.npz` keeps a functional model (its wiring
included), and `rnnspec run` / `compile --backend numpy` take one array per input and show every output.

Keras stores a functional model's layers as it stores a Sequential model's, by `model.layers` order and class
name (`layers/lstm`, `layers/lstm_1`), except that a functional model's `model.layers` lists its InputLayers
(`layers/input_layer`, empty) and its config lists the mask operations too; a shared layer is one object and is
stored once. The tests below check those facts on the files Keras writes, then the loading they support.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import rnnspec
from rnnspec.backends.numpy.weights_io import (
    NpzContents, _config_order, _storage_keys, load_from_keras, load_keras_file, load_npz, load_npz_weights,
    load_weights, save_npz,
)
from rnnspec.cli import _random_inputs, main
from rnnspec.errors import RnnspecError

from .conftest import SPECS
from .test_functional import SMALL as FUNCTIONAL_SMALL
from .test_functional import inputs_of, spec_of

# Keras's tensors warn on NumPy 2's copy keyword when converted, as test_numpy_io notes
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

TOL = 1e-5
FORMATS = [".keras", ".weights.h5", ".h5"]

# specs/functional.rnn at sizes that build and run in milliseconds (with masked_merge, whose config lists the mask
# operations, a `Concatenate` operation among them, before the Concatenate layer), and one that tests the storage
SMALL = {
    **{name: FUNCTIONAL_SMALL[name] for name in ("translator", "babi", "generator", "siamese", "video", "seq2seq",
                                                 "masked_merge")},
    # two layers of a class in one order in the spec, another in model.layers (`embedding` is the second written)
    "crossed": """
        long = Input(9, dtype=int32)
        short = Input(3, dtype=int32)
        l = long > Embedding(7, 5) > GRU(4)
        s = short > Embedding(8, 3) > LSTM(4, seq) > LSTM(4)
        (l, s) > Subtract > Dense(2)""",
}


def text_of(name: str) -> str:
    return spec_of(SMALL[name])


def report_of(name: str) -> rnnspec.ModelReport:  # type: ignore[name-defined]
    return rnnspec.select(text_of(name))


def as_list(outputs: Any) -> list[np.ndarray]:
    return [np.asarray(o) for o in outputs] if isinstance(outputs, (list, tuple)) else [np.asarray(outputs)]


def assert_outputs_equal(ours: Any, theirs: Any, tol: float = TOL) -> None:
    ours, theirs = as_list(ours), as_list(theirs)
    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_allclose(mine, expected, atol=tol, rtol=tol)


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


# ------------------------------------------------------------------------------------------ Keras files


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each model built by Keras in a fresh session with random weights (so a swap shows in the outputs), saved
    as .keras, .weights.h5 and legacy .h5, with its inputs and Keras's outputs."""
    import keras

    folder = tmp_path_factory.mktemp("functional")
    found: dict[str, dict[str, Any]] = {}
    for name in SMALL:
        report = report_of(name)
        keras.backend.clear_session()
        model = rnnspec.compile(report)
        rng = np.random.default_rng(len(found))
        model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.weights])
        files = {suffix: folder / f"{name}{suffix}" for suffix in FORMATS}
        model.save(files[".keras"])
        model.save_weights(files[".weights.h5"])
        model.save(files[".h5"])
        x = inputs_of(report)
        np.savez(folder / f"{name}.inputs.npz", **{n: a for (n, _), a in zip(report.inputs, x)})
        found[name] = {"report": report, "keras": model, "files": files, "x": x,
                       "inputs": folder / f"{name}.inputs.npz",
                       "expected": as_list(model.predict(x if len(x) > 1 else x[0], verbose=0))}
    return found


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(SMALL))
def test_keras_stores_a_functional_models_layers_by_class_in_model_layers_order(
        name: str, saved: dict[str, dict[str, Any]]) -> None:
    """The layout the loader relies on: InputLayers have groups (empty), a shared layer has one, keys follow
    `model.layers` (the report's rows); the config's order, its mask operations left out, gives the same keys."""
    h5py = pytest.importorskip("h5py")
    entry = saved[name]
    report, model = entry["report"], entry["keras"]
    keys = _storage_keys([row.type for row in report.rows])
    assert keys == _storage_keys([type(layer).__name__ for layer in model.layers])
    with h5py.File(entry["files"][".weights.h5"], "r") as file:
        assert sorted(file["layers"]) == sorted(keys)
        assert [file[f"layers/{key}/vars"].attrs["name"] for key in keys] == [row.name for row in report.rows]
        assert len(file["vars"]) == 0  # the model's own variables: none
    with zipfile.ZipFile(entry["files"][".keras"]) as archive:
        config = json.loads(archive.read("config.json"))
    assert config["class_name"] == "Functional"
    assert _config_order(config) == keys
    if name == "masked_merge":  # the operations are in the config, and one shares a layer's class name
        classes = [layer["class_name"] for layer in config["config"]["layers"]]
        assert classes.count("Concatenate") == 2 and "NotEqual" in classes


@pytest.mark.keras
def test_a_shared_layer_is_stored_once(saved: dict[str, dict[str, Any]]) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(saved["siamese"]["files"][".weights.h5"], "r") as file:
        assert sorted(file["layers"]) == ["concatenate", "dense", "input_layer", "input_layer_1", "lstm"]
    model = rnnspec.compile(saved["siamese"]["report"], backend="numpy")
    assert [n for n in model.weight_names() if n.startswith("lstm/")] == [
        "lstm/kernel", "lstm/recurrent_kernel", "lstm/bias"]


@pytest.mark.keras
@pytest.mark.parametrize("suffix", [*FORMATS, "model"])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_keras_weights_of_a_functional_model_give_keras_outputs(name: str, suffix: str,
                                                                saved: dict[str, dict[str, Any]]) -> None:
    pytest.importorskip("h5py")
    entry = saved[name]
    model = rnnspec.compile(entry["report"], backend="numpy", seed=11)
    if suffix == "model":
        load_from_keras(model, entry["keras"])
    else:
        load_keras_file(model, entry["files"][suffix])
    assert_outputs_equal(model(entry["x"] if len(entry["x"]) > 1 else entry["x"][0]), entry["expected"])
    again = rnnspec.compile(entry["report"], backend="numpy", seed=12)
    if suffix != "model":
        load_weights(again, entry["files"][suffix])  # the format chosen by the suffix
        for mine, theirs in zip(again.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(mine, theirs)


@pytest.mark.keras
def test_groups_of_other_classes_and_names_load_in_the_configs_order(tmp_path: Path) -> None:
    """Layers of classes the spec does not name, with other names, in a .keras: neither storage key nor layer name
    matches, so the config's order decides (the file's own order, alphabetical, would swap them)."""
    pytest.importorskip("h5py")
    import keras

    class Zeta(keras.layers.LSTM):
        pass

    class Alpha(keras.layers.LSTM):
        pass

    keras.backend.clear_session()
    a, b = keras.Input((5, 3), name="a"), keras.Input((5, 3), name="b")
    joined = keras.layers.Concatenate()([Zeta(4, name="first")(a), Alpha(4, name="second")(b)])
    km = keras.Model([a, b], keras.layers.Dense(2)(joined))
    rng = np.random.default_rng(5)
    km.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in km.weights])
    km.save(tmp_path / "custom.keras")
    spec = "a = Input(5, 3)\nb = Input(5, 3)\n(a > LSTM(4), b > LSTM(4)) > Concatenate > Dense(2)"
    model = rnnspec.compile(spec, backend="numpy")
    load_keras_file(model, tmp_path / "custom.keras")
    x = [rng.standard_normal((2, 5, 3)).astype("float32") for _ in range(2)]
    assert_outputs_equal(model(x), km.predict(x, verbose=0))


@pytest.mark.keras
def test_a_functional_file_that_does_not_fit_names_the_layer_and_weight(saved: dict[str, dict[str, Any]]) -> None:
    pytest.importorskip("h5py")
    wider = text_of("siamese").replace("LSTM(6)", "LSTM(7)")
    for suffix in FORMATS:
        with pytest.raises(RnnspecError) as info:
            load_weights(rnnspec.compile(wider, backend="numpy"), saved["siamese"]["files"][suffix])
        assert info.value.code == "E501" and "lstm/kernel" in info.value.message, info.value
        assert "(4, 28)" in info.value.message and "(4, 24)" in info.value.message
    fewer = text_of("translator").replace("y > Dense(9, activation=softmax)", "output y")
    for suffix in FORMATS:
        with pytest.raises(RnnspecError) as info:
            load_weights(rnnspec.compile(fewer, backend="numpy"), saved["translator"]["files"][suffix])
        assert info.value.code == "E501" and "does not have: dense" in info.value.message, info.value
    shorter = text_of("crossed").replace("> LSTM(4, seq) > LSTM(4)", "> LSTM(4)")  # model.layers in another order
    with pytest.raises(RnnspecError) as info:
        load_weights(rnnspec.compile(shorter, backend="numpy"), saved["crossed"]["files"][".keras"])
    assert info.value.code == "E501" and "weight embedding/embeddings of layer 'embedding'" in info.value.message


@pytest.mark.keras
def test_a_keras_archive_of_many_weightless_layers_is_within_its_cap(tmp_path: Path) -> None:
    """Keras writes ~2 KB of groups for a layer without weights (an InputLayer, a Dropout); the cap on the
    archive's weights member counts them, so a model of hundreds of them loads (it was refused past ~500)."""
    pytest.importorskip("h5py")
    import keras

    keras.backend.clear_session()
    spec = "x = Input(4, 3)\ny = x > Dropout(0.1) x300 > Dense(2)\nz = x > Dropout(0.2) x300 > Dense(2)\n(y, z) > Add"
    km = rnnspec.compile(spec)
    km.save(tmp_path / "drop.keras")
    with zipfile.ZipFile(tmp_path / "drop.keras") as archive:
        assert archive.getinfo("model.weights.h5").file_size > 1 << 20
    model = rnnspec.compile(spec, backend="numpy")
    load_keras_file(model, tmp_path / "drop.keras")
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype("float32")
    assert_outputs_equal(model(x), km.predict(x, verbose=0))


# ------------------------------------------------------------------------------------------ .npz


@pytest.mark.parametrize("name", sorted(SMALL))
def test_npz_round_trip_of_a_functional_model(name: str, tmp_path: Path) -> None:
    report = report_of(name)
    model = rnnspec.compile(report, backend="numpy", seed=3)
    written = save_npz(model, tmp_path / "m.npz")
    contents = NpzContents(written)
    assert contents.names == model.weight_names() and contents.spec == report.source
    again = load_npz(written)
    assert again.weight_names() == model.weight_names()
    assert [n for n, _ in again.report.inputs] == [n for n, _ in report.inputs]
    x = inputs_of(report)
    assert_outputs_equal(again(x if len(x) > 1 else x[0]), model(x if len(x) > 1 else x[0]), tol=0)
    fresh = rnnspec.compile(report, backend="numpy", seed=4)
    load_npz_weights(fresh, written)
    assert_outputs_equal(fresh(x if len(x) > 1 else x[0]), model(x if len(x) > 1 else x[0]), tol=0)


def test_npz_without_the_source_writes_a_functional_spec_that_recreates_the_model(tmp_path: Path) -> None:
    report = report_of("seq2seq")
    report.source = None
    model = rnnspec.compile(report, backend="numpy", seed=3)
    again = load_npz(save_npz(model, tmp_path / "m.npz"))
    assert "initial_state=" in NpzContents(tmp_path / "m.npz").spec
    x = inputs_of(report)
    assert_outputs_equal(again(x), model(x), tol=0)


def test_npz_refuses_a_source_wired_otherwise(tmp_path: Path) -> None:
    """The same rows (layers, shapes, weights), the tensors of a Subtract crossed: another model, which the source
    must not pass for."""
    text = "x = Input(3)\na = x > Dense(3)\nb = a > Dense(3)\n(a, b) > Subtract"
    crossed = text.replace("(a, b)", "(b, a)")
    model = rnnspec.compile(text, backend="numpy")
    fields = ("name", "type", "input_shape", "output_shape", "weights")
    assert [tuple(getattr(r, f) for f in fields) for r in rnnspec.select(crossed).rows] == \
        [tuple(getattr(r, f) for f in fields) for r in model.report.rows]
    with pytest.raises(RnnspecError, match="does not describe model"):
        save_npz(model, tmp_path / "m.npz", source=crossed)
    save_npz(model, tmp_path / "m.npz", source=text)


# ------------------------------------------------------------------------------------------ CLI


DIGEST = r"mean \S+  std \S+  sha256 [0-9a-f]{12}"


@pytest.mark.parametrize("name", sorted(SMALL))
def test_run_random_shows_every_input_and_output(name: str) -> None:
    report = report_of(name)
    unknown = any(None in t.shape[1:] for _, t in report.inputs)
    result = run("run", "-e", text_of(name), "--random", "2,4" if unknown else "2", "--seed", "5")
    assert result.exit_code == 0, result.output
    header, *digests = result.output.splitlines()
    assert header.startswith("model: input")
    for input_name, tensor in report.inputs:
        assert re.search(rf"\b{input_name} \(2(, \d+)*\) {tensor.dtype}\b", header), header
    if len(report.outputs) == 1:
        assert re.fullmatch(DIGEST, digests[0]) and len(digests) == 1
    else:
        assert len(digests) == len(report.outputs)
        assert all(re.fullmatch(rf"\S+: {DIGEST}", line) for line in digests), digests
    again = run("run", "-e", text_of(name), "--random", "2,4" if unknown else "2", "--seed", "5")
    assert again.output == result.output


def test_run_random_and_input_agree_with_the_api(tmp_path: Path) -> None:
    """`--random` draws what `_random_inputs` draws; fed back through `--input` by name they give the same lines,
    and `-o OUT.npz` holds every output by the name the spec binds."""
    text = text_of("generator")
    model = rnnspec.compile(text, backend="numpy")
    drawn = _random_inputs(model, 3, None, 0)
    np.savez(tmp_path / "x.npz", token_ids=drawn[0], state_in=drawn[1])
    random = run("run", "-e", text, "--random", "3", "-o", str(tmp_path / "y.npz"))
    given = run("run", "-e", text, "--input", str(tmp_path / "x.npz"))
    assert random.exit_code == given.exit_code == 0, random.output + given.output
    assert random.output.splitlines()[:3] == given.output.splitlines()
    assert "-> outputs probs (3, 6) float32, state_out (3, 8) float32" in given.output
    assert "saved the 2 outputs (probs, state_out) to" in random.output
    with np.load(tmp_path / "y.npz") as saved_outputs:
        assert saved_outputs.files == ["probs", "state_out"]
        assert_outputs_equal([saved_outputs["probs"], saved_outputs["state_out"]], model(drawn), tol=0)


def test_random_ids_stay_in_each_inputs_vocabulary_and_masks_start_true() -> None:
    babi = rnnspec.compile(text_of("babi"), backend="numpy")
    story, question = _random_inputs(babi, 64, None, 1)
    assert story.dtype == question.dtype == np.int32
    assert story.min() >= 1 and story.max() <= 5 and question.min() == 0 and question.max() == 5  # mask_zero: 1..
    crossed = rnnspec.compile(text_of("crossed"), backend="numpy")
    long, short = _random_inputs(crossed, 64, None, 1)
    assert long.max() == 6 and short.max() == 7  # Embedding(7, ...) and Embedding(8, ...)
    video = rnnspec.compile(text_of("video"), backend="numpy")
    frames, mask = _random_inputs(video, 64, None, 1)
    assert frames.dtype == np.float32 and mask.dtype == np.bool_ and mask[:, 0].all() and not mask.all()
    merged = rnnspec.compile(text_of("masked_merge"), backend="numpy")
    assert all(a.min() >= 1 and a.max() <= 4 for a in _random_inputs(merged, 64, None, 1))


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--random", "2"], 2, "input 'encoder_inputs' has shape (None, None, 7); give the number of time steps"),
    (["--random", "2,5", "--model", "babi"], 2, "input 'story' takes 12 time steps ((None, 12)), not 5; every "
     "dimension is known: give --random B"),
    (["--random", "2", "--model", "generator", "-o", "y.npy"], 2,
     "model 'generator' has 2 outputs (probs, state_out); save them with -o OUT.npz"),
    (["--random", "2", "--model", "video", "-o", "y.txt"], 2, "give a path ending in .npy or .npz"),
])
def test_run_usage_errors_of_a_functional_model(args: list[str], code: int, words: str, tmp_path: Path) -> None:
    spec = tmp_path / "models.rnn"
    spec.write_text("".join(f"model {name}:\n" + "".join(f"    {line}\n" for line in text_of(name).splitlines())
                            for name in ("translator", "babi", "generator", "video")))
    if "--model" not in args:
        args = [*args, "--model", "translator"]
    result = run("run", str(spec), *args)
    assert result.exit_code == code, result.output
    assert words in result.output, result.output
    assert "Traceback" not in result.output


def video_input(tmp_path: Path, name: str, **arrays: np.ndarray) -> Path:
    path = tmp_path / name
    if name.endswith(".npy"):
        np.save(path, next(iter(arrays.values())))
    else:
        np.savez(path, **arrays)
    return path


FRAMES = np.zeros((2, 6, 5), "float32")
MASK = np.ones((2, 6), bool)


@pytest.mark.parametrize(("name", "arrays", "code", "words"), [
    ("x.npy", {"frames": FRAMES}, "E501", "x.npy holds one array, but model 'model' takes 2 inputs (frames, mask)"),
    ("x.npz", {"frames": FRAMES}, "E501", "x.npz holds frames.npy; model 'model' takes the inputs frames, mask "
     "(missing mask)"),
    ("x.npz", {"frames": FRAMES, "msk": MASK}, "E501", "(missing mask; unknown msk.npy)"),
    ("x.npz", {"frames": FRAMES, "mask": MASK, "extra": MASK}, "E501", "(unknown extra.npy)"),
    ("x.npz", {"frames": FRAMES[:, :4], "mask": MASK}, "E501", "x.npz: input 'frames' of model 'model' takes "
     "inputs of shape (None, 6, 5), found (2, 4, 5)"),
    ("x.npz", {"frames": FRAMES, "mask": MASK[:1]}, "E501", "every input needs the same number"),
    ("x.npz", {"frames": FRAMES, "mask": np.array(["a", "b"])}, "E500", "(mask.npy) holds <U1 values"),
])
def test_run_input_files_that_do_not_hold_the_models_inputs(name: str, arrays: dict[str, np.ndarray], code: str,
                                                            words: str, tmp_path: Path) -> None:
    path = video_input(tmp_path, name, **arrays)
    result = run("run", "-e", text_of("video"), "--input", str(path))
    assert result.exit_code == (1 if code == "E501" else 2), result.output
    assert f"error[{code}]" in result.output and words in result.output, result.output
    assert "Traceback" not in result.output
    if code == "E501" and "holds" in words:
        assert "numpy.savez(path, frames=..., mask=...)" in result.output


def test_run_inputs_of_an_npz_are_bounded_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each array fits the allocation limit, both together do not: the second is refused before it is read."""
    import rnnspec.infer

    frames = np.zeros((64, 6, 5), "float32")  # larger than the model's weights, which are bounded too
    path = video_input(tmp_path, "x.npz", frames=frames, mask=np.ones((64, 6), bool))
    monkeypatch.setattr(rnnspec.infer, "MAX_ALLOCATION", frames.nbytes + 100)
    result = run("run", "-e", text_of("video"), "--input", str(path))
    assert result.exit_code == 2, result.output
    assert "error[E503]" in result.output and "(mask.npy)" in result.output
    assert f"with the {frames.nbytes:,} bytes of the inputs before it" in result.output


def test_run_one_input_functional_model_takes_an_npy(tmp_path: Path) -> None:
    text = "x = Input(6, 3)\no, h = x > GRU(4, seq, state)\no > SimpleRNN(2)"
    x = np.random.default_rng(0).standard_normal((2, 6, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    result = run("run", "-e", text, "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("model: input x (2, 6, 3) float32 -> output simple_rnn (2, 2) float32\n")
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), rnnspec.compile(text, backend="numpy")(x))


def test_compile_numpy_then_run_the_npz_of_a_functional_model(tmp_path: Path) -> None:
    out = tmp_path / "seq2seq.npz"
    result = run("compile", "-e", text_of("seq2seq"), "--backend", "numpy", "-o", str(out), "--seed", "2")
    assert result.exit_code == 0, result.output
    by_spec = run("run", "-e", text_of("seq2seq"), "--seed", "2", "--random", "2,5")
    by_file = run("run", str(out), "--seed", "2", "--random", "2,5")  # the seed of the input alone
    by_weights = run("run", "--weights", str(out), "--seed", "2", "--random", "2,5")
    assert by_spec.exit_code == by_file.exit_code == by_weights.exit_code == 0, by_file.output
    assert by_spec.output == by_file.output == by_weights.output
    assert by_file.output.startswith("model: inputs source (2, 5) int32, target (2, 5) int32 -> output dense "
                                     "(2, 5, 5) float32\n")


@pytest.mark.keras
@pytest.mark.parametrize("name", ["babi", "generator", "video", "seq2seq"])
def test_run_with_keras_weights_and_inputs_by_name_matches_keras(name: str, saved: dict[str, dict[str, Any]],
                                                                 tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    entry = saved[name]
    names = [n for n, _ in entry["report"].inputs]
    outputs = len(entry["expected"])
    target = tmp_path / ("y.npy" if outputs == 1 else "y.npz")
    for suffix in FORMATS:
        result = run("run", "-e", text_of(name), "--weights", str(entry["files"][suffix]),
                     "--input", str(entry["inputs"]), "-o", str(target))
        assert result.exit_code == 0, result.output
        assert ", ".join(names) not in result.output  # each input shown with its shape
        if outputs == 1:
            assert_outputs_equal(np.load(target), entry["expected"])
        else:
            with np.load(target) as data:
                assert_outputs_equal([data[key] for key in data.files], entry["expected"])
    converted = tmp_path / "converted.npz"
    result = run("compile", "-e", text_of(name), "--backend", "numpy", "--weights", str(entry["files"][".keras"]),
                 "-o", str(converted))
    assert result.exit_code == 0, result.output
    assert_outputs_equal(load_npz(converted)(entry["x"] if len(entry["x"]) > 1 else entry["x"][0]),
                         entry["expected"])


@pytest.mark.keras
def test_run_with_weights_of_another_functional_model_is_e501(saved: dict[str, dict[str, Any]]) -> None:
    pytest.importorskip("h5py")
    result = run("run", "-e", text_of("siamese").replace("LSTM(6)", "LSTM(7)"), "--weights",
                 str(saved["siamese"]["files"][".keras"]), "--random", "2,3")
    assert result.exit_code == 1 and "error[E501]" in result.output and "Traceback" not in result.output


def test_run_a_bundled_functional_model_with_an_expected_shape() -> None:
    """The assertions are checked once, on the spec's shapes: a batch of 2 is not None, and still fine."""
    result = run("run", str(SPECS / "functional.rnn"), "--model", "generator", "--random", "2")
    assert result.exit_code == 0, result.output


def test_run_names_few_of_many_long_member_names(tmp_path: Path) -> None:
    """The member names are the file's: a thousand of them, each long, make a message of a few lines."""
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(1000):
            archive.writestr(f"{'x' * 500}{i}.npy", b"")
    result = run("run", "-e", text_of("video"), "--input", str(path))
    assert result.exit_code == 1 and "error[E501]" in result.output, result.output
    assert "(1,000 in all)" in result.output and "missing frames, mask" in result.output
    assert len(result.output) < 2_000, len(result.output)
