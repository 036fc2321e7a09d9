"""Weights in and out of a `NumpyModel`, with no TensorFlow or Keras imported unless you hand in a Keras model.

- `load_from_keras(model, keras_model)`: copy the weights of a built `keras.Model` (a zip over `get_weights()`).
- `load_keras_file(model, path)`: read a Keras 3 `.keras` archive or `.weights.h5` file (and a legacy `.h5`
  written by `model.save("x.h5")`) with h5py alone.
- `save_npz(model, path)` / `load_npz(path)`: one `.npz` holding the spec text, the model name and the weights
  with their names; loading re-checks the spec and validates every weight.
- `load_weights(model, path)`: any of the above chosen by the file's suffix.

Every mismatch (a missing, extra or wrongly shaped weight) is an `RnnspecError` E501 naming the layer and the
weight; a file that cannot be read at all is E500.

How Keras 3 lays out a weights file (`model.weights.h5` inside a `.keras` zip, or a `.weights.h5`):

    layers/<key>/vars/0, 1, ...                  a layer's own variables, in `layer.weights` order
    layers/<key>/cell/vars/...                   SimpleRNN / LSTM / GRU: the variables live in the cell
    layers/<key>/forward_layer/cell/vars/...     Bidirectional: the forward copy, then
    layers/<key>/backward_layer/cell/vars/...    the backward copy
    layers/<key>/layer/vars/...                  TimeDistributed: the wrapped layer
    vars/                                        the model's own variables (none for Sequential)

`<key>` is not the layer's name but its class name in snake case, numbered among layers of the same class in
model order (`dense`, `dense_1`, ...); each `vars` group carries the layer's real name as its `name` attribute.
A layer with LoRA saves its kernel with the factors merged in and not the factors (Keras loads them as zeros).
A legacy `.h5` (`model.save("m.h5")`) instead lists `layer_names` in order and, per layer group, `weight_names`:
the trainable weights first, then the frozen ones (so a LoRA kernel comes after its factors), by full path.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport
from rnnspec.unparse import spec_text
from rnnspec.layers.base import LayerNode, Weight, snake_case

from rnnspec.backends.numpy.model import NumpyModel

NPZ_FORMAT = "rnnspec-numpy-model"
NPZ_VERSION = 1
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")



# ---------------------------------------------------------------------------------------------- any file


def load_weights(model: NumpyModel, path: str | Path) -> None:
    """Load weights into `model` from an `.npz` (names validated), `.keras`, `.weights.h5` or legacy `.h5`."""
    name = str(path)
    if name.endswith(".npz"):
        load_npz_weights(model, path)
    elif name.endswith(KERAS_SUFFIXES):
        load_keras_file(model, path)
    else:
        raise RnnspecError("E500", f"cannot tell the format of {name}",
                           hint="weights files end in .npz, .keras, .weights.h5 or .h5")


# ---------------------------------------------------------------------------------------------- Keras model


def load_from_keras(model: NumpyModel, keras_model: Any) -> None:
    """Copy the weights of a built `keras.Model` (in `keras_model.get_weights()` order) into `model`.

    Each Keras variable's name (`kernel`, `recurrent_kernel`, ...) must be the one the spec declares at that
    position, and its shape must match; otherwise an E501 error names the layer and weight.
    """
    arrays = list(keras_model.get_weights())
    variables = list(getattr(keras_model, "weights", []))
    paths = [str(getattr(v, "path", getattr(v, "name", "?"))) for v in variables]
    specs = list(model.weight_specs())
    names = model.weight_names()
    if len(variables) == len(arrays):
        for i, ((layer, spec), name, variable) in enumerate(zip(specs, names, variables)):
            found = str(getattr(variable, "name", spec.name)).split("/")[-1].split(":")[0]
            if found != spec.name:
                raise RnnspecError(
                    "E501", f"weight {i} of model '{model.name}' should be {name} (layer '{layer}'), "
                    f"but the Keras model has {paths[i]} there",
                    hint="the Keras model's layers differ from the spec's, or come in another order")
    if len(arrays) != len(specs):
        if len(arrays) < len(specs):
            layer, _ = specs[len(arrays)]
            detail = f"missing weight {names[len(arrays)]} of layer '{layer}' and after"
        else:
            extra = paths[len(specs)] if len(paths) == len(arrays) else f"array {len(specs)}"
            detail = f"extra weight {extra} after {names[-1] if names else 'the last weight'}"
        raise RnnspecError("E501", f"model '{model.name}' has {len(specs)} weights, but the Keras model has "
                           f"{len(arrays)}: {detail}", hint="build the Keras model from the same spec")
    model.set_weights(arrays)


# ---------------------------------------------------------------------------------------------- Keras files


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise RnnspecError("E501", "reading Keras weight files needs h5py",
                           hint="install it with: pip install 'rnnspec[h5]'") from None
    return h5py


def load_keras_file(model: NumpyModel, path: str | Path) -> None:
    """Load the weights of a `.keras` archive, a `.weights.h5` file or a legacy `.h5` model into `model`,
    with h5py alone (no TensorFlow, no Keras).

    Layers are matched to the file's groups by Keras's storage key (class name numbered in model order), then
    by layer name, then in order; every weight's count and shape is checked against the spec.
    """
    h5py = _h5py()
    shown = str(path)
    config = None
    try:
        if zipfile.is_zipfile(shown):
            with zipfile.ZipFile(shown) as archive:
                members = set(archive.namelist())
                if "model.weights.h5" not in members:
                    raise RnnspecError("E500", f"{shown} holds no model.weights.h5",
                                       hint="expected a .keras file written by Keras 3's model.save()")
                data = archive.read("model.weights.h5")
                if "config.json" in members:
                    config = json.loads(archive.read("config.json"))
            handle = h5py.File(io.BytesIO(data), "r")
        else:
            handle = h5py.File(shown, "r")
    except RnnspecError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, KeyError) as err:
        raise RnnspecError("E500", f"cannot read {shown}: {getattr(err, 'strerror', None) or err}") from None
    with handle as f:
        if "layers" in f and isinstance(f["layers"], h5py.Group):
            arrays = _read_keras3(model, f["layers"], shown, _config_order(config), h5py)
        elif "layer_names" in f.attrs or "model_weights" in f:
            arrays = _read_legacy(model, f["model_weights"] if "model_weights" in f else f, shown, h5py)
        else:
            raise RnnspecError("E500", f"{shown} is not a Keras weights file (no 'layers' group)",
                               hint="save with model.save('m.keras') or model.save_weights('m.weights.h5')")
    model.set_weights(arrays)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _storage_keys(types: Sequence[str]) -> list[str]:
    """Keras's `_get_unique_name`: snake-cased class names, numbered among equals (`dense`, `dense_1`)."""
    used: dict[str, int] = {}
    keys = []
    for type_name in types:
        base = snake_case(re.sub(r"\W+", "", type_name))
        if base in used:
            used[base] += 1
            keys.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            keys.append(base)
    return keys


def _config_order(config: Any) -> list[str] | None:
    """Storage keys of a `.keras` archive's layers in model order (its config.json), when it has one."""
    try:
        layers = config["config"]["layers"]
        classes = [layer["class_name"] for layer in layers]
    except (TypeError, KeyError):
        return None
    if classes and classes[0] == "InputLayer":  # Sequential.layers, which Keras walks, leaves the input out
        classes = classes[1:]
    return _storage_keys(classes)


_CHILD_ORDER = ("cell", "forward_layer", "backward_layer", "layer")


def _group_arrays(group: Any, prefix: str, h5py: Any) -> list[tuple[str, Any]]:
    """(path, dataset) of every variable under one layer's group, in `layer.weights` order."""
    found: list[tuple[str, Any]] = []
    own = group.get("vars")
    if isinstance(own, h5py.Group):
        keys = sorted((k for k in own if k.isdigit()), key=int)
        found += [(f"{prefix}/vars/{k}", own[k]) for k in keys]
    children = [k for k in group if k != "vars" and isinstance(group[k], h5py.Group)]
    ordered = [k for k in _CHILD_ORDER if k in children]
    if "forward_layer" in ordered and "layer" in ordered:  # Bidirectional: the halves hold the weights
        ordered.remove("layer")
    ordered += sorted(k for k in children if k not in _CHILD_ORDER)
    for child in ordered:
        found += _group_arrays(group[child], f"{prefix}/{child}", h5py)
    return found


def _layer_slices(model: NumpyModel) -> Iterator[tuple[int, str, str, list[Weight], list[str]]]:
    """(index, layer name, layer type, weights, `layer/weight` names) for every layer of the model."""
    names = model.weight_names()
    position = 0
    for index, (name, layer) in enumerate(zip(model.layer_names, model.layers)):
        count = len(layer.specs)
        yield index, name, layer.node.type_name, list(layer.specs), names[position:position + count]
        position += count


def _match(model: NumpyModel, available: dict[str, list[tuple[str, Any]]], layer_names: dict[str, str],
           storage: list[str] | None, order: list[str], shown: str) -> dict[int, str]:
    """Which file group feeds each model layer that has weights: storage key, then layer name, then order."""
    needed = [(i, name, type_name) for i, name, type_name, specs, _ in _layer_slices(model) if specs]
    assigned: dict[int, str] = {}
    used: set[str] = set()
    for by_storage in (True, False):
        for i, name, _ in needed:
            if i in assigned or (by_storage and storage is None):
                continue
            key = storage[i] if by_storage and storage is not None else layer_names.get(name)
            if key is not None and key in available and key not in used:
                assigned[i] = key
                used.add(key)
    rest_groups = [k for k in order if k in available and k not in used]
    rest_groups += sorted((k for k in available if k not in used and k not in rest_groups), key=_natural)
    rest = [(i, name, type_name) for i, name, type_name in needed if i not in assigned]
    for (i, _, _), key in zip(rest, rest_groups):
        assigned[i] = key
        used.add(key)
    if len(rest) > len(rest_groups):
        _, name, type_name = rest[len(rest_groups)]
        listed = ", ".join(sorted(available, key=_natural)) or "none"
        raise RnnspecError("E501", f"{shown} has no weights for layer '{name}' ({type_name}) of model "
                           f"'{model.name}'", hint=f"layers with weights in the file: {listed}")
    return assigned


def _no_extra(model: NumpyModel, assigned: dict[int, str], available: dict[str, list[tuple[str, Any]]],
              shown: str) -> None:
    extra = sorted(set(available) - set(assigned.values()), key=_natural)
    if extra:
        paths = ", ".join(path for path, _ in available[extra[0]])
        raise RnnspecError("E501", f"{shown} has weights for a layer model '{model.name}' does not have: "
                           f"{extra[0]} ({paths})", hint="the file was saved from a model with more layers")


def _natural(key: str) -> tuple[str, int]:
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", key)
    assert match is not None
    return match.group(1), int(match.group(2) or 0)


def _read_keras3(model: NumpyModel, layers: Any, shown: str, config_order: list[str] | None,
                 h5py: Any) -> list[np.ndarray]:
    available: dict[str, list[tuple[str, Any]]] = {}
    layer_names: dict[str, str] = {}
    for key in layers:
        group = layers[key]
        if not isinstance(group, h5py.Group):
            continue
        arrays = _group_arrays(group, f"layers/{key}", h5py)
        if arrays:
            available[key] = arrays
            own = group.get("vars")
            if own is not None and "name" in own.attrs:
                layer_names.setdefault(_text(own.attrs["name"]), key)
    storage = _storage_keys([layer.node.type_name for layer in model.layers])
    assigned = _match(model, available, layer_names, storage, config_order or [], shown)
    return _collect(model, assigned, available, shown)


def _read_legacy(model: NumpyModel, root: Any, shown: str, h5py: Any) -> list[np.ndarray]:
    """Keras 2 style (`model.save("x.h5")`): `layer_names` in order, each group listing its `weight_names`."""
    available: dict[str, list[tuple[str, Any]]] = {}
    order = [_text(n) for n in root.attrs.get("layer_names", [])]
    for key in order:
        group = root.get(key)
        if group is None:
            continue
        names = [_text(n) for n in group.attrs.get("weight_names", [])]
        missing = [n for n in names if n not in group]
        if missing:
            raise RnnspecError("E500", f"{shown} lists weight {missing[0]} of layer {key} but does not hold it")
        if names:
            available[key] = [(f"{key}/{n}", group[n]) for n in names]
    assigned = _match(model, available, {key: key for key in available}, None, order, shown)
    return _collect(model, assigned, available, shown)


def _collect(model: NumpyModel, assigned: dict[int, str], available: dict[str, list[tuple[str, Any]]],
             shown: str) -> list[np.ndarray]:
    """The arrays in the model's order, each checked against the spec (LoRA factors filled with zeros)."""
    result: list[np.ndarray] = []
    for index, name, type_name, specs, weight_names in _layer_slices(model):
        if not specs:
            continue
        found = _by_weight_name(available[assigned[index]], specs)
        wanted = list(zip(specs, weight_names))
        lora = [pair for pair in wanted if pair[0].name.startswith("lora_")]
        if lora and len(found) == len(wanted) - len(lora):
            wanted = [pair for pair in wanted if not pair[0].name.startswith("lora_")]  # saved merged (Keras)
        where = f"layer '{name}' ({type_name}, read from {assigned[index]})"
        if len(found) < len(wanted):
            spec, weight_name = wanted[len(found)]
            raise RnnspecError("E501", f"{shown} is missing weight {weight_name} {spec.shape} of {where}, "
                               f"which holds {len(found)} of its {len(wanted)} weights",
                               hint="the file was saved from a different layer (check use_bias and the type)")
        if len(found) > len(wanted):
            path, extra = found[len(wanted)]
            raise RnnspecError("E501", f"{shown} has an extra weight {path} {tuple(extra.shape)} for {where}, "
                               f"which has {len(wanted)} weights", hint="the file was saved from a different layer")
        arrays = {}
        for (spec, weight_name), (path, dataset) in zip(wanted, found):
            if tuple(dataset.shape) != spec.shape:
                raise RnnspecError("E501", f"weight {weight_name} of {where} should have shape {spec.shape}, "
                                   f"but {shown} has {tuple(dataset.shape)} at {path}",
                                   hint="the file was saved from a model with other sizes")
            arrays[weight_name] = np.asarray(dataset[()])
        for spec, weight_name in zip(specs, weight_names):
            result.append(arrays[weight_name] if weight_name in arrays else np.zeros(spec.shape, model.dtype))
    _no_extra(model, assigned, available, shown)
    return result


def _by_weight_name(found: list[tuple[str, Any]], specs: list[Weight]) -> list[tuple[str, Any]]:
    """A legacy `.h5` lists a layer's trainable weights before its frozen ones (a LoRA kernel comes last);
    where the stored names are the spec's weight names, put them back in the spec's order (first unused of each
    name, so a Bidirectional's forward half stays before its backward half)."""
    names = [path.rsplit("/", 1)[-1].split(":")[0] for path, _ in found]
    if sorted(names) != sorted(spec.name for spec in specs) or names == [spec.name for spec in specs]:
        return found
    remaining = list(zip(names, found))
    ordered = []
    for spec in specs:
        position = next(i for i, (name, _) in enumerate(remaining) if name == spec.name)
        ordered.append(remaining.pop(position)[1])
    return ordered


# ---------------------------------------------------------------------------------------------- .npz


def _structure(report: ModelReport) -> tuple[Any, ...]:
    return (report.input, tuple((r.name, r.type, r.input_shape, r.output_shape, r.weights) for r in report.rows))


def _reparse(text: str, spec_path: str, name: str) -> ModelReport:
    from rnnspec.api import select

    return select(text, model=name, path=spec_path)


def _spec_for(model: NumpyModel, source: str | None) -> tuple[str, str]:
    """(spec text, its path) that re-create `model`: the text given, the text it was loaded from, or the spec
    written from its resolved arguments; each checked to describe the same layers and weights."""
    spec_path = model.report.span.path
    candidates = []
    if source is not None:
        candidates.append(("given", source, spec_path))
    elif model.source is not None:
        candidates.append(("kept", model.source, spec_path))
    if source is None:
        try:
            candidates.append(("written", spec_text(model.report), spec_path))
        except ValueError:
            pass
    for kind, text, path in candidates:
        try:
            report = _reparse(text, path, model.name)
        except RnnspecError as err:
            if kind == "given":
                raise RnnspecError("E501", f"the source given for model '{model.name}' does not check: {err}",
                                   hint="pass the text of the spec the model was compiled from") from None
            continue
        if _structure(report) == _structure(model.report):
            return text, path
        if kind == "given":
            raise RnnspecError("E501", f"the source given does not describe model '{model.name}' "
                               "(its layers or weights differ)",
                               hint="pass the text of the spec the model was compiled from")
    raise RnnspecError("E501", f"cannot write a spec that re-creates model '{model.name}'",
                       hint="pass the spec text: save_npz(model, path, source=TEXT)")


def save_npz(model: NumpyModel, path: str | Path, source: str | None = None) -> Path:
    """Write `model` to one `.npz`: the spec text, the model name, a format version, and every weight in
    Keras's order with its `layer/weight` name. `source` is the spec text the model came from (a whole file
    is fine; the model is picked by name); without it, the text the model was loaded from is kept, or a spec
    is written from the model's resolved arguments. Returns the path written (NumPy adds `.npz` if missing).
    """
    text, spec_path = _spec_for(model, source)
    names = model.weight_names()
    payload: dict[str, np.ndarray] = {
        "format": np.array(NPZ_FORMAT),
        "format_version": np.array(NPZ_VERSION),
        "spec": np.array(text),
        "spec_path": np.array(spec_path),
        "model": np.array(model.name),
        "dtype": np.array(str(model.dtype)),
        "weight_names": np.array(names, dtype=str) if names else np.zeros(0, dtype="<U1"),
    }
    for i, array in enumerate(model.get_weights()):
        payload[f"weight_{i:04d}"] = array
    target = Path(path)
    try:
        np.savez(target, **payload)  # type: ignore[arg-type]
    except OSError as err:
        raise RnnspecError("E500", f"cannot write {path}: {err.strerror or err}") from None
    return target if target.suffix == ".npz" else target.with_name(target.name + ".npz")


class NpzContents:
    """What an rnnspec `.npz` holds: the spec text and its path, the model name, dtype, named weights."""

    def __init__(self, path: str | Path) -> None:
        shown = str(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                entries = {key: data[key] for key in data.files}
        except FileNotFoundError:
            raise RnnspecError("E500", f"no such file: {shown}") from None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            raise RnnspecError("E500", f"cannot read {shown} as an .npz file: {err}") from None
        if not isinstance(entries, dict) or str(entries.get("format", "")) != NPZ_FORMAT:
            raise RnnspecError("E500", f"{shown} is not an rnnspec model file",
                               hint="write one with save_npz() or `rnnspec compile --backend numpy -o M.npz`")
        version = int(entries["format_version"])
        if version > NPZ_VERSION:
            raise RnnspecError("E500", f"{shown} was written in format version {version}; this rnnspec reads "
                               f"up to {NPZ_VERSION}", hint="upgrade rnnspec")
        self.path = shown
        self.spec = str(entries["spec"])
        self.spec_path = str(entries["spec_path"])
        self.model = str(entries["model"])
        self.dtype = str(entries["dtype"])
        self.names = [str(n) for n in entries["weight_names"]]
        count = sum(1 for key in entries if key.startswith("weight_") and key != "weight_names")
        if count != len(self.names):
            raise RnnspecError("E500", f"{shown} names {len(self.names)} weights but holds {count}")
        self.arrays = [entries[f"weight_{i:04d}"] for i in range(count)]

    def report(self) -> ModelReport:
        """The stored spec, checked again (its errors are raised as they would be for a spec file)."""
        return _reparse(self.spec, self.spec_path, self.model)


def _check_names(model: NumpyModel, names: Sequence[str], arrays: Sequence[np.ndarray], shown: str) -> None:
    expected = model.weight_names()
    layers = [layer for layer, _ in model.weight_specs()]
    for i, (want, found) in enumerate(zip(expected, names)):
        if want != found:
            raise RnnspecError("E501", f"weight {i} of model '{model.name}' is {want} (layer '{layers[i]}'), "
                               f"but {shown} has {found} there", hint="the file was saved from another model")
    if len(names) < len(expected):
        want = expected[len(names)]
        raise RnnspecError("E501", f"{shown} is missing weight {want} (layer '{layers[len(names)]}') and "
                           f"{len(expected) - len(names) - 1} after it", hint="the file was saved from another model")
    if len(names) > len(expected):
        raise RnnspecError("E501", f"{shown} has an extra weight {names[len(expected)]} "
                           f"{tuple(np.shape(arrays[len(expected)]))} that model '{model.name}' does not have",
                           hint="the file was saved from another model")


def load_npz(path: str | Path, dtype: str | None = None) -> NumpyModel:
    """The model saved by `save_npz`: its spec is checked again, every weight name and shape validated."""
    contents = NpzContents(path)
    model = NumpyModel(contents.report(), seed=0, dtype=dtype or contents.dtype)
    _check_names(model, contents.names, contents.arrays, contents.path)
    model.set_weights(contents.arrays)
    return model


def load_npz_weights(model: NumpyModel, path: str | Path) -> None:
    """Only the weights of an rnnspec `.npz`, into an existing model; names and shapes must match."""
    contents = NpzContents(path)
    _check_names(model, contents.names, contents.arrays, contents.path)
    model.set_weights(contents.arrays)


__all__ = ["load_weights", "load_from_keras", "load_keras_file", "save_npz", "load_npz", "load_npz_weights",
           "spec_text", "NpzContents"]
