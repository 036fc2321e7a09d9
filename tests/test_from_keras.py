"""`rnnspec from-keras`: a saved Keras model back to its spec, compared with real Keras.

Every model of specs/*.rnn and the parity tests' models go spec -> Keras -> saved file -> from-keras -> spec: the
spec must be the same (every argument, name and count), and the NumPy model made from the file's weights must
compute what Keras computes. Models are converted once per module (a save and a read each) to keep this quick.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import rnnspec
from rnnspec.cli import main
from rnnspec.errors import RnnspecError
from rnnspec.from_keras_spec import from_keras, from_keras_file
from rnnspec.infer import ModelReport
from rnnspec.unparse import _layer, spec_text

pytestmark = pytest.mark.keras
SPECS = Path(__file__).resolve().parent.parent / "specs"
TOLERANCE = 1e-5
KERAS_DROPS = r"\b(autocast|use_cudnn|seed|input_length"  # arguments Keras's config does not keep (see layers_of)


def spec_models() -> list[Any]:
    return [pytest.param(f"{path.name}:{report.name}", id=report.name) for path in sorted(SPECS.glob("*.rnn"))
            for report in rnnspec.check(path)]


def parity_specs() -> list[str]:
    from tests.test_keras_arguments import FUNCTIONAL_PARITY_CASES, PARITY_CASES
    from tests.test_parity import CASES, FUNCTIONAL_CASES

    return [case.values[0] for case in (*CASES, *FUNCTIONAL_CASES, *PARITY_CASES, *FUNCTIONAL_PARITY_CASES)]


def source_of(key: str) -> tuple[str, str | None]:
    """(spec text, model name) of a test id: `file.rnn:model` or a parity spec itself."""
    if ".rnn:" in key:
        file, name = key.split(":", 1)
        return (SPECS / file).read_text(), name
    return key, None


def normal(report: ModelReport, names: bool = True) -> str:
    """The spec of a model as `--fill` writes it, with what a Keras file cannot keep taken out: the names of
    tensors and of bound (shared) layers (the file keeps layer names only), and the `expect` lines. Without
    `names`, layer names too: a functional spec written in another order names its layers with `name=`."""
    if report.network is not None:
        graph = report.network.graph
        inputs = {ref: name for ref, name in graph.tensor_names.items() if ref.call in graph.inputs}
        graph.tensor_names.clear()
        graph.tensor_names.update(inputs)
        for index in graph.layer_bindings:
            graph.layer_bindings[index] = report.network.names[index]
    text = spec_text(report, fill=True)
    text = "".join(line for line in text.splitlines(True) if not line.lstrip().startswith("expect "))
    if not names:
        text = re.sub(r'\bname=("[^"]*"|\w+)', "name=None", text)
    made_up: dict[str, str] = {}  # `t5`: named after its call's index, which depends on the order written
    return re.sub(r"\bt\d+(?:_\d+)?\b", lambda m: made_up.setdefault(m.group(0), f"t_{len(made_up)}"), text)


def layers_of(report: ModelReport) -> list[tuple[Any, ...]]:
    """Per layer: its name, every argument (filled), output shape and counts; less what Keras's config does not
    keep: `autocast`, `use_cudnn`, the deprecated `input_length` and a recurrent layer's dropout `seed`, Dense's and
    Embedding's `lora_alpha` (Keras resets it to the rank). `name=` is compared as the row's name."""
    def text(row: Any) -> str:
        written = re.sub(KERAS_DROPS + r"|name)=\w+", r"\1=?", _layer(row.node, fill=True))
        written = re.sub(r"axis=\((-?\d+),\)", r"axis=\1", written)  # one axis: Keras writes it as an int
        return re.sub(r"lora_alpha=\w+", "lora_alpha=?", written) if row.type in ("Dense", "Embedding") else written

    return [(row.name, text(row), row.output_shape, row.trainable, row.non_trainable) for row in report.rows]


@dataclass
class Converted:
    report: ModelReport
    keras_model: Any
    text: str | None
    npz: Path
    saved: Path
    error: Exception | None = None


def random_inputs(report: ModelReport, seed: int = 0) -> list[np.ndarray] | None:
    """An array per input (None for a model of string inputs): ids below each Embedding's vocabulary."""
    from rnnspec.cli import _random_inputs

    specs = [tensor for _, tensor in report.inputs] if report.network is not None else [report.input]
    if any(spec.dtype == "string" for spec in specs):
        return None
    numpy_model = rnnspec.compile(report, backend="numpy")
    batch = next((spec.shape[0] for spec in specs if spec.shape[0] is not None), 2)
    steps = 3 if any(None in spec.shape[1:] for spec in specs) else None
    return _random_inputs(numpy_model, batch, steps, seed)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Converted]:
    """Every model compiled with Keras, saved as .keras, and read back by from-keras (with its weights)."""
    folder = tmp_path_factory.mktemp("from_keras")
    keys = [p.values[0] for p in spec_models()] + parity_specs()
    result = {}
    for index, key in enumerate(keys):
        text, name = source_of(key)
        report = rnnspec.select(text, model=name)
        keras_model = rnnspec.compile(report)
        saved, npz = folder / f"m{index}.keras", folder / f"m{index}.npz"
        keras_model.save(saved)
        runs = not any(row.type == "TextVectorization" for row in report.rows)  # no NumPy model of it
        try:
            result[key] = Converted(report, keras_model, from_keras_file(saved, weights=npz if runs else None), npz,
                                    saved)
        except RnnspecError as err:
            result[key] = Converted(report, keras_model, None, npz, saved, err)
    return result


def convert_ok(converted: dict[str, Converted], key: str) -> Converted:
    item = converted[key]
    assert item.error is None, f"{key}: {item.error}"
    return item


@pytest.mark.parametrize("key", spec_models())
def test_bundled_specs_round_trip_exactly(converted: dict[str, Converted], key: str) -> None:
    """The spec written from the saved file is the bundled spec, argument for argument, with the same counts."""
    item = convert_ok(converted, key)
    back = rnnspec.select(item.text)
    assert layers_of(back) == layers_of(item.report)  # names included
    assert normal(back, names=False) == normal(item.report, names=False)
    assert (back.total, back.trainable, back.non_trainable) == \
        (item.report.total, item.report.trainable, item.report.non_trainable)
    assert f"expect params {item.keras_model.count_params():_}" in item.text
    frozen = sum(int(np.prod(w.shape)) for w in item.keras_model.non_trainable_weights)
    assert (f"expect non_trainable {frozen:_}" in item.text) == (frozen > 0)


@pytest.mark.parametrize("key", parity_specs())
def test_parity_models_round_trip(converted: dict[str, Converted], key: str) -> None:
    """Every layer of the parity tests' models comes back with every argument, its name and its counts."""
    item = convert_ok(converted, key)
    back = rnnspec.select(item.text)
    assert layers_of(back) == layers_of(item.report)
    assert back.total == item.keras_model.count_params()


def test_parity_models_give_the_same_text(converted: dict[str, Converted]) -> None:
    """The written text is the original's (`--fill`, less what Keras's config does not keep), except where the
    original says the same another way: a one-axis tuple `axis=(2,)` (Keras writes 2), a Dense's or Embedding's
    `lora_alpha` (Keras resets it to the rank)."""
    def kept(report: ModelReport) -> str:
        return re.sub(KERAS_DROPS + r")=\w+", "", normal(report))

    differ = [k for k in parity_specs() if kept(rnnspec.select(convert_ok(converted, k).text))
              != kept(converted[k].report)]
    assert [k for k in differ if not re.search(r"axis=\(|lora_alpha", k)] == []
    assert len(differ) <= 3


def numeric_keys() -> list[str]:
    return [p.values[0] for p in spec_models()] + parity_specs()


def keras_outputs(item: Converted, inputs: list[np.ndarray]) -> list[Any] | Exception:
    try:
        theirs = item.keras_model(inputs if len(inputs) > 1 else inputs[0], training=False)
    except Exception as err:  # TensorFlow's CPU kernels lack some (a float64 Conv1D): nothing to compare with
        return err
    return list(theirs) if isinstance(theirs, (list, tuple)) else [theirs]


# Models whose outputs cannot be compared, each for a reason a test below confirms: string inputs (the NumPy
# backend has no TextVectorization, so `--weights` is refused with E501) and a float64 Conv1D TensorFlow's CPU
# kernels cannot run.
STRING_INPUT = "keras_layers.rnn:reviews"
KERAS_CANNOT_RUN = next(k for k in parity_specs() if "> Conv1D(" in k and "dtype=float64" in k)


@pytest.mark.parametrize("key", [k for k in numeric_keys() if k not in (STRING_INPUT, KERAS_CANNOT_RUN)])
def test_numpy_model_from_converted_weights_computes_as_keras(converted: dict[str, Converted], key: str) -> None:
    """The .npz written by --weights is a TF-free deployment: its outputs are Keras's within 1e-5."""
    from rnnspec.backends.numpy.weights_io import load_npz

    item = convert_ok(converted, key)
    inputs = random_inputs(item.report)
    assert inputs is not None
    ours = load_npz(item.npz).predict(inputs if len(inputs) > 1 else inputs[0])
    theirs = keras_outputs(item, inputs)
    assert not isinstance(theirs, Exception), theirs
    ours = list(ours) if isinstance(ours, (list, tuple)) else [ours]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a, "float64"), np.asarray(b, "float64"), atol=TOLERANCE, rtol=TOLERANCE)


def test_models_left_out_of_the_output_comparison_are_so_for_their_reason(converted: dict[str, Converted],
                                                                          tmp_path: Path) -> None:
    item = convert_ok(converted, STRING_INPUT)
    assert random_inputs(item.report) is None
    with pytest.raises(RnnspecError) as err:
        from_keras_file(item.saved, weights=tmp_path / "w.npz")
    assert err.value.code == "E501"
    item = convert_ok(converted, KERAS_CANNOT_RUN)
    inputs = random_inputs(item.report)
    assert inputs is not None and isinstance(keras_outputs(item, inputs), Exception)


# ---------------------------------------------------------------------------------------------- other sources

H5_MODELS = ["seed.rnn:stacked", "architectures.rnn:bidirectional_tagger", "architectures.rnn:conv_lstm",
             "functional.rnn:translator", "keras_layers.rnn:stacked_cells"]


@pytest.mark.parametrize("key", H5_MODELS)
def test_legacy_h5_gives_the_same_spec(converted: dict[str, Converted], key: str, tmp_path: Path) -> None:
    item = convert_ok(converted, key)
    path = tmp_path / "model.h5"
    item.keras_model.save(path)
    assert from_keras_file(path, weights=tmp_path / "w.npz") == item.text


def test_config_json_and_live_model_give_the_same_spec(converted: dict[str, Converted], tmp_path: Path) -> None:
    """`to_json()` has no weights: the counts are rnnspec's, and the spec is the same as from the .keras file."""
    for key in ("seed.rnn:stacked", "functional.rnn:siamese", "keras_layers.rnn:lstm_self_attention"):
        item = convert_ok(converted, key)
        path = tmp_path / "config.json"
        path.write_text(item.keras_model.to_json())
        assert from_keras_file(path) == item.text
        assert from_keras(item.keras_model) == item.text


def test_live_model_writes_weights_that_compute_as_keras(tmp_path: Path) -> None:
    import keras

    from rnnspec.backends.numpy.weights_io import load_npz

    inputs = keras.Input((5, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GRU(4, return_sequences=True)(inputs)))
    text = from_keras(model, name="tagger", weights=tmp_path / "t.npz")
    assert text.startswith("model tagger:\n") and "Input(5, 3)" in text and "> GRU(4, seq" in text
    assert text.endswith("    expect shape (None, 5, 2)\n    expect params 118\n")
    x = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(load_npz(tmp_path / "t.npz").predict(x), model.predict(x, verbose=0), atol=TOLERANCE)


def test_arguments_written_as_keras_writes_them() -> None:
    """Initialisers, regularisers and constraints come back as calls, activations by name, policies by name."""
    spec = ("Input(5, 3) > LSTM(4, kernel_initializer=RandomNormal(stddev=0.01), recurrent_regularizer=L2(0.001), "
            "bias_constraint=MaxNorm(3.0), activation=relu, dtype=float64, name=encoder) > Dense(2, use_bias=false)")
    text = from_keras(rnnspec.compile(spec))
    assert "> LSTM(4, activation=relu, kernel_initializer=RandomNormal(stddev=0.01), recurrent_regularizer=L2(" \
        "l2=0.001), bias_constraint=MaxNorm(max_value=3.0), dtype=float64, name=encoder)\n    > Dense(2, use_bias=" \
        "false)\n" in text


def test_reading_a_file_imports_neither_tensorflow_nor_keras(converted: dict[str, Converted], tmp_path: Path) -> None:
    item = convert_ok(converted, "functional.rnn:translator")
    path = tmp_path / "t.keras"
    item.keras_model.save(path)
    code = ("import sys; from rnnspec.from_keras_spec import from_keras_file; "
            f"from_keras_file({str(path)!r}, weights={str(tmp_path / 'w.npz')!r}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------- weights_io fixes


def test_a_residual_chain_converts_in_linear_work(tmp_path: Path) -> None:
    """Each merge feeds the next twice: signatures that held their inputs' whole history doubled at every merge
    (a 100-merge chain never finished). Numbered, the table holds a few entries per call."""
    from rnnspec.from_keras_spec import _signatures

    merges = 40
    spec = "x0 = Input(4)" + "".join(f"\na{i} = x{i} > Dense(4)\nx{i + 1} = (a{i}, x{i}) > Add" for i in range(merges))
    rnnspec.compile(spec).save(tmp_path / "r.keras")
    text = from_keras_file(tmp_path / "r.keras")
    back = rnnspec.select(text)
    assert back.total == rnnspec.select(spec).total and len(back.rows) == 1 + 2 * merges
    table: dict[Any, int] = {}
    _signatures(back, table)
    assert len(table) <= 3 * len(back.network.graph.calls)  # type: ignore[union-attr]


def assert_keras_file_loads_in_place(spec: str, tmp_path: Path) -> None:
    """The spec's Keras model saved as .keras, read into its NumPy model: every array where Keras has it."""
    from rnnspec.backends.numpy.weights_io import load_keras_file

    keras_model = rnnspec.compile(spec)
    keras_model.save(tmp_path / "m.keras")
    numpy_model = rnnspec.compile(spec, backend="numpy")
    load_keras_file(numpy_model, tmp_path / "m.keras")
    ours, theirs = numpy_model.get_weights(), keras_model.get_weights()
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_stacked_cells_of_different_types_load_in_order_from_keras(tmp_path: Path) -> None:
    """Keras saves a stack's cells by key (lstm_cell, gru_cell), which HDF5 lists alphabetically; and both cells
    have weights named `rnn/kernel`: each must still land in its place."""
    assert_keras_file_loads_in_place("Input(4, 3) > RNN((LSTMCell(5), GRUCell(2), SimpleRNNCell(3)))", tmp_path)


@pytest.mark.parametrize("options", ["", ", use_gate=true"])
def test_multi_head_attention_loads_its_projections_in_order(tmp_path: Path, options: str) -> None:
    """Saved by name (key_dense, output_dense, query_dense, ...; the gate as `_gate_dense`), loaded in Keras's order."""
    assert_keras_file_loads_in_place(f"q = Input(4, 6)\nv = Input(5, 6)\n(q, v) > MultiHeadAttention(2, 3{options})",
                                     tmp_path)


def test_a_scalar_weight_survives_the_npz(tmp_path: Path) -> None:
    """Attention(use_scale=true)'s `scale` has shape (): saved as such, it loads back."""
    from rnnspec.backends.numpy.weights_io import load_npz, save_npz

    spec = "q = Input(4, 6)\nv = Input(5, 6)\n(q, v) > Attention(use_scale=true, score_mode=concat)"
    model = rnnspec.compile(spec, backend="numpy")
    save_npz(model, tmp_path / "a.npz", source=spec)
    assert [w.size for w in load_npz(tmp_path / "a.npz").get_weights()] == [1, 1]


# ---------------------------------------------------------------------------------------------- errors


def config_file(tmp_path: Path, layers: list[dict[str, Any]], class_name: str = "Sequential") -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"class_name": class_name, "config": {"name": "m", "layers": layers}}))
    return path


INPUT = {"class_name": "InputLayer", "config": {"batch_shape": [None, 5, 3], "dtype": "float32", "name": "x"}}


def dense(**config: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2, **config}}


def refused(path: Path, code: str) -> RnnspecError:
    with pytest.raises(RnnspecError) as caught:
        from_keras_file(path)
    assert caught.value.code == code, str(caught.value)
    assert "Traceback" not in str(caught.value)
    return caught.value


def test_lambda_and_custom_layers_are_named(tmp_path: Path) -> None:
    error = refused(config_file(tmp_path, [INPUT, {"module": "keras.layers", "class_name": "Lambda",
                                                   "config": {"name": "double", "function": "..."}}]), "E510")
    assert "'double' (Lambda)" in error.message and "Python code" in error.message
    error = refused(config_file(tmp_path, [INPUT, {"module": "my_layers", "class_name": "Dense",
                                                   "config": {"name": "mine", "units": 2}}]), "E510")
    assert "custom class from module 'my_layers'" in error.message
    refused(config_file(tmp_path, [INPUT, {"class_name": "Fancy", "config": {"name": "f"}}]), "E510")


def test_arguments_rnnspec_cannot_express_are_named(tmp_path: Path) -> None:
    error = refused(config_file(tmp_path, [INPUT, dense(sparkle=True)]), "E511")
    assert "layer 'dense' (Dense): argument sparkle=true" in error.message
    error = refused(config_file(tmp_path, [INPUT, dense(activation={"class_name": "MyAct", "config": {}})]), "E511")
    assert "activation" in error.message
    error = refused(config_file(tmp_path, [INPUT, dense(activation="zigzag")]), "E511")
    assert "zigzag" in error.message
    refused(config_file(tmp_path, [INPUT, dense(quantization_config={"mode": "int8"})]), "E511")


FUNCTIONAL_INPUT = {"class_name": "InputLayer", "name": "x-in", "config": {"batch_shape": [None, 3], "name": "x-in"},
                    "inbound_nodes": []}


def functional_config(reads: str) -> dict[str, Any]:
    tensor = {"class_name": "__keras_tensor__", "config": {"keras_history": [reads, 0, 0]}}
    return {"class_name": "Functional", "config": {"name": "f", "input_layers": [["x-in", 0, 0]],
            "output_layers": [["d", 0, 0]], "layers": [FUNCTIONAL_INPUT, {
                "class_name": "Dense", "name": "d", "config": {"name": "d", "units": 3},
                "inbound_nodes": [{"args": [tensor], "kwargs": {}}]}]}}


@pytest.mark.parametrize(("config", "code"), [
    ({"class_name": "Sequential", "config": {"name": "m", "layers": [INPUT, dense(units="abc")]}}, "E511"),
    ({"class_name": "Sequential", "config": {"name": "m", "layers": [INPUT, dense(units=10**40)]}}, "E511"),
    ({"class_name": "Sequential", "config": {"name": "m", "layers": [INPUT, dense(use_bias=float("nan"))]}}, "E511"),
    ({"class_name": "Sequential", "config": {"name": "m", "layers": [INPUT, dense(dtype={  # no spec text gets in
        "class_name": "DTypePolicy", "config": {"name": "float16) > Dense(9"}})]}}, "E511"),
    ({"class_name": "Sequential", "config": {"name": "m", "layers": [INPUT, dense(padding='same") > Dense(9')]}},
     "E511"),
    ({"class_name": "Sequential", "config": None}, "E513"),
    ({"class_name": "Sequential", "config": {"name": "m", "layers": [INPUT, 5]}}, "E513"),
    ({"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "InputLayer", "config": {
        "batch_shape": "wide"}}, dense()]}}, "E513"),
    (functional_config("nowhere"), "E513"),
    (functional_config("d"), "E513"),  # a layer reading its own output: a cycle
])
def test_configs_of_the_wrong_shape_are_errors_not_crashes(tmp_path: Path, config: Any, code: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    refused(path, code)


def test_a_functional_input_is_named_by_its_binding(tmp_path: Path) -> None:
    """`x-in` cannot be a spec name: the input becomes `x_in`, the rest keeps Keras's names."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps(functional_config("x-in")))
    assert from_keras_file(path) == ("model f:\n    x_in = Input(3)\n    x_in > Dense(3, name=d)\n"
                                     "    expect shape (None, 3)\n    expect params 12\n")


def test_models_rnnspec_cannot_express(tmp_path: Path) -> None:
    path = tmp_path / "sub.json"
    path.write_text(json.dumps({"module": "my", "class_name": "MyModel", "config": {"name": "m"}}))
    assert "MyModel" in refused(path, "E512").message
    nested = {"class_name": "Sequential", "config": {"name": "inner", "layers": [INPUT, dense()]}}
    assert "nested model" in refused(config_file(tmp_path, [INPUT, nested]), "E512").message


@pytest.mark.parametrize(("content", "why"), [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "not a Keras model config"),
    (b'{"class_name": "Sequential", "config": {"name": "m", "layers": 5}}', "layers"),
    (b'{"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": 3}]}}', "malformed"),
    (b"[" * 100_000, "nested too deeply"),
    (b"PK\x03\x04broken zip", "not a readable .keras file"),
    (b"\x89HDF\r\n\x1a\ntruncated", "not a readable HDF5 file"),
])
def test_unreadable_files_are_e513(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "m.keras"
    path.write_bytes(content)
    assert why in refused(path, "E513").message


def test_a_zip_without_config_and_a_huge_config_are_e513(tmp_path: Path) -> None:
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    assert "without config.json" in refused(path, "E513").message
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", " " * (65 << 20))
    assert "more than a Keras config" in refused(path, "E513").message


def test_a_truncated_keras_file_is_e513(converted: dict[str, Converted], tmp_path: Path) -> None:
    item = convert_ok(converted, "seed.rnn:textbook")
    path = tmp_path / "t.keras"
    item.keras_model.save(path)
    path.write_bytes(path.read_bytes()[:300])
    refused(path, "E513")


def test_weights_that_do_not_fit_the_config_are_e514(converted: dict[str, Converted], tmp_path: Path) -> None:
    """A .keras whose config.json says 64 units but whose weights hold 32: the figures disagree."""
    item = convert_ok(converted, "seed.rnn:textbook")
    path = tmp_path / "t.keras"
    item.keras_model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = members["config.json"].replace(b'"units": 64', b'"units": 32')
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    error = refused(path, "E514")
    assert "do not fit" in error.message


def test_a_shape_keras_recorded_that_rnnspec_infers_otherwise_is_e514(tmp_path: Path) -> None:
    """Keras built the Dense on 4 features, the input gives 3: the spec would describe another model."""
    built = {**dense(), "build_config": {"input_shape": [None, 5, 4]}}
    error = refused(config_file(tmp_path, [INPUT, built]), "E514")
    assert "built by Keras on (None, 5, 4), but rnnspec feeds it (None, 5, 3)" in error.message


def test_missing_h5py_is_a_clear_error(converted: dict[str, Converted], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    item = convert_ok(converted, "seed.rnn:textbook")
    path = tmp_path / "t.h5"
    item.keras_model.save(path)
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(RnnspecError) as caught:
        from_keras_file(path)
    assert caught.value.code == "E501" and "rnnspec[h5]" in (caught.value.hint or "")
    result = CliRunner().invoke(main, ["from-keras", str(path)])
    assert result.exit_code == 2 and "error[E501]: " in result.output
    assert "t.h5: reading a Keras .h5 file needs h5py" in result.output


# ---------------------------------------------------------------------------------------------- command line


def test_cli_writes_the_spec_and_the_numpy_model(converted: dict[str, Converted], tmp_path: Path) -> None:
    item = convert_ok(converted, "seed.rnn:stacked")
    path = tmp_path / "s.keras"
    item.keras_model.save(path)
    out, npz = tmp_path / "s.rnn", tmp_path / "s.npz"
    result = CliRunner().invoke(main, ["from-keras", str(path), "-o", str(out), "--name", "mine",
                                       "--weights", str(npz)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("model mine:\n") and npz.exists()
    check = CliRunner().invoke(main, ["check", str(out)])
    assert check.exit_code == 0, check.output
    run = CliRunner().invoke(main, ["run", str(npz), "--random", "2,4"])
    assert run.exit_code == 0, run.output
    printed = CliRunner().invoke(main, ["from-keras", str(path)])
    assert printed.exit_code == 0 and printed.output.startswith("model stacked:\n")


@pytest.mark.parametrize(("content", "code", "status"), [
    (b"{oops", "E513", 2),
    (json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": [
        INPUT, {"class_name": "Lambda", "config": {"name": "l"}}]}}).encode(), "E510", 1),
])
def test_cli_errors_are_compiler_style(tmp_path: Path, content: bytes, code: str, status: int) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["from-keras", str(path)])
    assert result.exit_code == status
    assert f"error[{code}]" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["from-keras", str(tmp_path / "none.keras")])
    assert missing.exit_code == 2 and "error[E500]" in missing.output
