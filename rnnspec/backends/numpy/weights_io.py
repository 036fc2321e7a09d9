"""Weights in and out of a `NumpyModel`, with no TensorFlow or Keras imported unless you hand in a Keras model.

- `load_from_keras(model, keras_model)`: copy the weights of a built `keras.Model` (a zip over `get_weights()`).
- `load_keras_file(model, path)`: read a Keras 3 `.keras` archive or `.weights.h5` file (and a legacy `.h5`
  written by `model.save("x.h5")`) with h5py alone.
- `save_npz(model, path)` / `load_npz(path)`: one `.npz` holding the spec text, the model name and the weights
  with their names; loading re-checks the spec and validates every weight.
- `load_weights(model, path)`: any of the above chosen by the file's suffix.

Every mismatch (a missing, extra or wrongly shaped weight) is an `RnnspecError` E501 naming the layer and the
weight; a file that cannot be read at all is E500.

A weights file is someone else's data, so reading one is bounded by the spec and touches nothing outside it:
- only a regular file is opened (a FIFO would block, a directory or device is no weights file);
- only the members needed are read from a zip, each no larger than the spec implies, through a reader that stops
  at that size whatever the member's header claims (a 1 MB deflate bomb would otherwise inflate to a gigabyte);
- an `.npy` member's header (shape, dtype) is checked against the spec before its data is read; nothing is
  unpickled (the zip and `.npy` readers are in `npy.py`, shared with `rnnspec run --input`);
- in HDF5, only hard links are followed (a soft or external link, a virtual dataset or external storage would
  read another file), each group once (hard links can make cycles), and only plain datasets are read (HDF5
  inflates a compressed chunk without bound; Keras writes none).

How Keras 3 lays out a weights file (`model.weights.h5` inside a `.keras` zip, or a `.weights.h5`):

    layers/<key>/vars/0, 1, ...                  a layer's own variables, in `layer.weights` order
    layers/<key>/cell/vars/...                   SimpleRNN / LSTM / GRU: the variables live in the cell
    layers/<key>/forward_layer/cell/vars/...     Bidirectional: the forward copy, then
    layers/<key>/backward_layer/cell/vars/...    the backward copy
    layers/<key>/layer/vars/...                  TimeDistributed: the wrapped layer
    vars/                                        the model's own variables (none for Sequential)

`<key>` is not the layer's name but its class name in snake case, numbered among layers of the same class in
`model.layers` order (`dense`, `dense_1`, ...); each `vars` group carries the layer's real name as its `name`
attribute. `model.layers` of a Sequential model leaves its InputLayer out (no group); that of a functional model
lists its InputLayers (`input_layer`, `input_layer_1`: groups with empty `vars`) in the order of its rows, and a
shared layer once (it is one object, saved once whatever the number of its calls). A functional model's
`config.json` lists its operations instead: the layers, and the mask operations Keras records (`NotEqual`,
`LogicalOr`, ...; module `keras.src.ops.*`), which are no layers and have no group.
A layer with LoRA saves its kernel with the factors merged in and not the factors (Keras loads them as zeros).
A legacy `.h5` (`model.save("m.h5")`) instead lists `layer_names` in order and, per layer group, `weight_names`:
the trainable weights first, then the frozen ones (so a LoRA kernel comes after its factors), by full path.
"""
from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Sequence

import numpy as np

from rnnspec.api import open_regular
from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport
from rnnspec.parser import MAX_SOURCE_CHARS
from rnnspec.unparse import spec_text
from rnnspec.layers.base import Weight, snake_case

from rnnspec.backends.numpy.model import NumpyModel
from rnnspec.backends.numpy.npy import (
    NPY_HEADER_BYTES, Capped, NpyHeader, npy_data, npy_header, reading, reason, size_text, zip_member,
)

NPZ_FORMAT = "rnnspec-numpy-model"
NPZ_VERSION = 1
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")

# What a weights file may make rnnspec read: every size follows from the spec, none from the file's own claims.
MAX_NAME_CHARS = 1_024  # a model, layer or weight name stored in an .npz
MAX_PATH_CHARS = 4_096  # the spec's path stored in an .npz
STATE_BYTES_PER_PARAM = 64  # a .keras weights member: the weights and an optimizer's slots (up to 7 more), float64
H5_BYTES_PER_WEIGHT = 16_384  # HDF5's groups and headers around a variable and its slots (Keras writes ~2,500)
H5_BASE_BYTES = 1 << 20
H5_BYTES_PER_LAYER = 8_192  # a layer's groups even without weights (Keras writes ~2,000: a Dropout, an InputLayer)
CONFIG_BASE_BYTES = 4 << 20  # config.json of a .keras archive
CONFIG_BYTES_PER_LAYER = 16_384  # per layer, mask operation and call (a functional model's inbound nodes)
MAX_H5_DEPTH = 16  # groups below `layers` (Keras nests at most 5: a wrapped Bidirectional's cell's vars)


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


# ---------------------------------------------------------------------------------------------- reading safely

def _open(path: str | Path) -> BinaryIO:
    """A regular, non-empty file opened for reading (a FIFO is refused without waiting on it)."""
    file = open_regular(path, hint="give a weights file: .npz, .keras, .weights.h5 or .h5")
    with reading(str(path)):
        empty = file.seek(0, io.SEEK_END) == 0
        file.seek(0)
    if empty:
        file.close()
        raise RnnspecError("E500", f"{path} is empty", hint="the file was not written completely")
    return file


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, where: str, why: str) -> bytes:
    """A whole member of at most `cap` bytes (checked on its declared size, then while reading)."""
    if info.file_size > cap:
        raise RnnspecError("E500", f"{where} declares {size_text(info.file_size)}, more than {why} can take "
                           f"({size_text(cap)})", hint="the file does not belong to this model, or is a zip bomb")
    with reading(where):
        stream = Capped(archive.open(info), cap, where)
        try:
            return stream.read()
        finally:
            stream.close()


def _check_numbers(dtype: np.dtype, weight: str, where: str) -> None:
    """Weights are floats (any width: they are cast to the model's dtype); other numbers do not fit the spec
    (E501), and what is not numbers at all is not a weights file (E500)."""
    if dtype.kind == "f":
        return
    if dtype.kind in "biuc":
        raise RnnspecError("E501", f"weight {weight} takes floats, but {where} holds {dtype.name} values",
                           hint="the file holds something other than a model's weights there")
    raise RnnspecError("E500", f"{where} holds {dtype} values, not numbers",
                       hint="the file holds something other than a model's weights there")


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
    with _open(path) as file:
        with reading(shown):
            archived = zipfile.is_zipfile(file)
            file.seek(0)
        if archived:
            weights, config = _read_keras_archive(model, file, shown)
            source: BinaryIO = io.BytesIO(weights)
            shown_h5 = f"{shown} (model.weights.h5)"
        else:
            source, shown_h5 = file, shown
        with reading(shown_h5):
            handle = h5py.File(source, "r")
        with handle:
            arrays = _read_h5(model, _H5Reader(h5py, shown_h5), handle, _config_order(config))
    model.set_weights(arrays)


def _read_keras_archive(model: NumpyModel, file: BinaryIO, shown: str) -> tuple[bytes, Any]:
    """model.weights.h5 and config.json (when present) of a `.keras` zip, each no larger than the model implies."""
    specs = [spec for _, spec in model.weight_specs()]
    report = model.report
    weights_cap = H5_BASE_BYTES + H5_BYTES_PER_LAYER * len(report.rows) + H5_BYTES_PER_WEIGHT * len(specs) \
        + STATE_BYTES_PER_PARAM * sum(spec.size for spec in specs)
    entries = len(report.rows) if report.network is None else len(report.table) + len(report.network.graph.calls)
    config_cap = CONFIG_BASE_BYTES + CONFIG_BYTES_PER_LAYER * entries
    with reading(shown), zipfile.ZipFile(file) as archive:
        info = zip_member(archive, "model.weights.h5", shown,
                           hint="expected a .keras file written by Keras 3's model.save()")
        weights = _read_capped(archive, info, weights_cap, f"{shown} (model.weights.h5)",
                               f"the weights of model '{model.name}'")
        if "config.json" not in archive.NameToInfo:
            return weights, None
        text = _read_capped(archive, zip_member(archive, "config.json", shown), config_cap,
                            f"{shown} (config.json)", "a Keras config")
    return weights, _parse_config(text, f"{shown} (config.json)")


def _parse_config(text: bytes, where: str) -> dict[str, Any]:
    try:
        config = json.loads(text)
    except RecursionError:
        raise RnnspecError("E500", f"{where} is nested too deeply to be a Keras config") from None
    except ValueError as err:  # not JSON, or not UTF-8
        raise RnnspecError("E500", f"{where} is not valid JSON: {reason(err)}") from None
    if not isinstance(config, dict):
        raise RnnspecError("E500", f"{where} holds a JSON {type(config).__name__}, not a Keras config (an object)")
    return config


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


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
    """Storage keys of a `.keras` archive's layers in `model.layers` order (from its config.json), when it says:
    the order to fall back on for groups that neither storage key nor layer name matches."""
    try:
        entries = list(config["config"]["layers"])
        classes = [entry["class_name"] for entry in entries]
        modules = [entry.get("module") for entry in entries]
    except (TypeError, KeyError, AttributeError):
        return None
    if not all(isinstance(c, str) for c in classes):
        return None
    functional = config.get("class_name") != "Sequential"
    if not functional and classes and classes[0] == "InputLayer":  # Sequential.layers leaves the input out
        classes, modules = classes[1:], modules[1:]
    # A functional config lists its operations: its mask operations are no layers, so Keras saves no group
    # for them, and counting them would renumber a layer of the same class name (Concatenate).
    return _storage_keys([c for c, m in zip(classes, modules) if not _operation_module(m)])


def _operation_module(module: Any) -> bool:
    """Whether a config entry's module is Keras's operations (`keras.src.ops.numpy`), not a layer's."""
    return isinstance(module, str) and module.startswith(("keras.src.ops.", "keras.ops."))


# A layer's sub-layers in `layer.weights` order (MultiHeadAttention's projections are saved by name, which HDF5
# lists alphabetically: key_dense before query_dense, and its gate's `_gate_dense` first of all).
_CHILD_ORDER = ("cell", "forward_layer", "backward_layer", "layer", "query_dense", "key_dense", "_gate_dense",
                "value_dense", "output_dense")
Found = list[tuple[str, Any]]  # (path in the file, dataset)


class _H5Reader:
    """Steps through an HDF5 file as rnnspec allows: hard links only (a soft or external link may point into
    another file), each group at most once (hard links can make cycles), and datasets that keep their data
    plainly in this file, checked before anything is read."""

    def __init__(self, h5py: Any, shown: str) -> None:
        self.h5py, self.shown = h5py, shown
        self.seen: dict[int, str] = {}

    def error(self, message: str, hint: str | None = None) -> RnnspecError:
        return RnnspecError("E500", f"{self.shown}: {message}",
                            hint=hint or "the file was not written by Keras; rnnspec reads what Keras writes")

    def child(self, group: Any, at: str, name: str) -> Any | None:
        """What `name` (one step, or several joined by '/') names under the group at `at`, or None."""
        node = group
        for part in name.split("/"):
            if part in ("", "."):
                continue
            if not isinstance(node, self.h5py.Group):
                raise self.error(f"{at} is a dataset, expected a group")
            here = f"{at}/{part}" if at else part
            key = part.encode("utf-8", "surrogateescape")
            with reading(self.shown):
                if not node.id.links.exists(key):
                    return None
                kind = node.id.links.get_info(key).type
                if kind != self.h5py.h5l.TYPE_HARD:
                    raise self._link_error(node, key, here, kind)
                node = node[key]
            at = here
        return node

    def _link_error(self, group: Any, key: bytes, here: str, kind: int) -> RnnspecError:
        h5l = self.h5py.h5l
        if kind == h5l.TYPE_SOFT:
            what = f"a soft link to {_text(group.id.links.get_val(key))}"
        elif kind == h5l.TYPE_EXTERNAL:
            target_file, target = group.id.links.get_val(key)
            what = f"an external link to {_text(target_file)}:{_text(target)}"
        else:
            what = f"a user-defined link (type {kind})"
        return self.error(f"{here} is {what}; rnnspec follows only hard links, inside the file")

    def members(self, group: Any) -> list[str]:
        with reading(self.shown):
            return [name.decode("utf-8", "surrogateescape") for name in group.id]

    def group(self, group: Any, at: str, name: str) -> Any | None:
        found = self.child(group, at, name)
        if found is not None and not isinstance(found, self.h5py.Group):
            raise self.error(f"{at + '/' if at else ''}{name} is a dataset, expected a group")
        return found

    def enter(self, group: Any, path: str, depth: int) -> None:
        """Refuse a group seen before (a cycle, or a group shared by two layers) or nested past any Keras file."""
        if depth > MAX_H5_DEPTH:
            raise self.error(f"{path} is nested {depth} groups deep; Keras nests at most a few")
        with reading(self.shown):
            address = self.h5py.h5o.get_info(group.id).addr
        if address in self.seen:
            raise self.error(f"{path} is the group {self.seen[address]} again (a link cycle or a shared group)")
        self.seen[address] = path

    def dataset(self, found: Any, path: str) -> Any:
        """`found`, if a dataset whose data HDF5 reads from this file alone and without inflating it."""
        if not isinstance(found, self.h5py.Dataset):
            raise self.error(f"{path} is a {'group' if isinstance(found, self.h5py.Group) else 'named type'}, "
                             "expected a dataset")
        with reading(f"{self.shown} at {path}"):
            if found.is_virtual:
                raise self.error(f"{path} is a virtual dataset: its data would be read from other files")
            if found.external:
                files = ", ".join(_text(name) for name, *_ in found.external)
                raise self.error(f"{path} keeps its data in external files ({files})")
            plist = found.id.get_create_plist()
            if plist.get_nfilters():
                raise self.error(f"{path} is compressed or filtered ({_text(plist.get_filter(0)[3])}); rnnspec "
                                 "reads plain datasets, as Keras writes them",
                                 hint="write it plainly, e.g. h5repack -f NONE in.h5 out.h5")
            if found.shape is None:
                raise self.error(f"{path} holds no data (an empty dataspace)")
        return found

    def names(self, node: Any, at: str, attribute: str) -> list[str]:
        """An attribute listing names (`layer_names`, `weight_names`); absent is none."""
        with reading(self.shown):
            if attribute not in node.attrs:
                return []
            value = node.attrs[attribute]
        items = list(value) if isinstance(value, np.ndarray) and value.ndim == 1 else None
        if items is None or not all(isinstance(item, (str, bytes)) for item in items):
            shape = getattr(value, "shape", "")
            raise self.error(f"attribute {attribute} of {at or '/'} should list names, found "
                             f"{type(value).__name__} {getattr(value, 'dtype', '')}{shape}".rstrip())
        try:
            return [item.decode("utf-8") if isinstance(item, bytes) else item for item in items]
        except UnicodeDecodeError:
            raise self.error(f"attribute {attribute} of {at or '/'} holds names that are not UTF-8") from None

    def read(self, dataset: Any, path: str) -> np.ndarray:
        with reading(f"{self.shown} at {path}"):
            return np.asarray(dataset[()])


def _read_h5(model: NumpyModel, reader: _H5Reader, root: Any, config_order: list[str] | None) -> list[np.ndarray]:
    layers = reader.group(root, "", "layers")
    if layers is not None:
        return _read_keras3(model, reader, layers, config_order)
    weights_root = reader.group(root, "", "model_weights")
    with reading(reader.shown):
        legacy = weights_root is not None or "layer_names" in root.attrs
    if not legacy:
        raise RnnspecError("E500", f"{reader.shown} is not a Keras weights file (no 'layers' group)",
                           hint="save with model.save('m.keras') or model.save_weights('m.weights.h5')")
    if weights_root is None:
        return _read_legacy(model, reader, root, "")
    return _read_legacy(model, reader, weights_root, "model_weights")


def _group_arrays(reader: _H5Reader, group: Any, path: str, depth: int,
                  stacks: Sequence[Sequence[str]] = ()) -> Found:
    """(path, dataset) of every variable under one layer's group, in `layer.weights` order. `stacks` gives, per
    StackedRNNCells of the model, its cells' storage keys in order: Keras saves them by key (`lstm_cell`,
    `gru_cell`), which HDF5 lists alphabetically; a `cells` group is ordered by the stack with its keys."""
    reader.enter(group, path, depth)
    found: Found = []
    own = reader.group(group, path, "vars")
    if own is not None:
        reader.enter(own, f"{path}/vars", depth + 1)
        keys = sorted((k for k in reader.members(own) if k.isascii() and k.isdigit()), key=int)
        found += [(f"{path}/vars/{k}", reader.dataset(reader.child(own, f"{path}/vars", k), f"{path}/vars/{k}"))
                  for k in keys]
    children = {}
    for key in reader.members(group):
        child = reader.child(group, path, key) if key != "vars" else None
        if isinstance(child, reader.h5py.Group):
            children[key] = child
        elif child is not None and key in _CHILD_ORDER:
            raise reader.error(f"{path}/{key} is a dataset, expected a group")
    ordered = [k for k in _CHILD_ORDER if k in children]
    if "forward_layer" in ordered and "layer" in ordered:  # Bidirectional: the halves hold the weights
        ordered.remove("layer")
    if path.endswith("/cells"):
        stack = next((keys for keys in stacks if set(keys) == set(children)), ())
        ordered += [k for k in stack if k not in ordered]
    ordered += sorted(k for k in children if k not in _CHILD_ORDER and k not in ordered)
    for key in ordered:
        found += _group_arrays(reader, children[key], f"{path}/{key}", depth + 1, stacks)
    return found


def _stacked_cells(node: Any) -> list[str]:
    """The storage keys of the cells of the first StackedRNNCells in a layer's arguments (RNN, Bidirectional)."""
    from rnnspec.layers.base import LayerNode

    if node.type_name == "StackedRNNCells":
        return _storage_keys([cell.type_name for cell in node.args.cells])
    for value in node.args.values():
        if isinstance(value, LayerNode):
            found = _stacked_cells(value)
            if found:
                return found
    return []


def _layer_slices(model: NumpyModel) -> Iterator[tuple[int, str, str, list[Weight], list[str]]]:
    """(index, layer name, layer type, weights, `layer/weight` names) for every layer of the model."""
    positions: dict[str, list[int]] = {}
    for position, (layer, _) in enumerate(model.weight_specs()):
        positions.setdefault(layer, []).append(position)
    specs = [spec for _, spec in model.weight_specs()]
    names = model.weight_names()
    for index, row in enumerate(model.report.rows):
        mine = positions.pop(row.name, [])  # a layer called twice owns its weights once
        yield index, row.name, row.type, [specs[p] for p in mine], [names[p] for p in mine]


def _match(model: NumpyModel, available: dict[str, Found], layer_names: dict[str, str],
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


def _no_extra(model: NumpyModel, assigned: dict[int, str], available: dict[str, Found],
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


def _read_keras3(model: NumpyModel, reader: _H5Reader, layers: Any, config_order: list[str] | None
                 ) -> list[np.ndarray]:
    available: dict[str, Found] = {}
    layer_names: dict[str, str] = {}
    storage = _storage_keys([row.type for row in model.report.rows])
    stacks = [keys for keys in (_stacked_cells(row.node) for row in model.report.rows) if keys]
    for key in reader.members(layers):
        group = reader.group(layers, "layers", key)
        arrays = _group_arrays(reader, group, f"layers/{key}", 1, stacks)
        if arrays:
            available[key] = arrays
            own = reader.child(group, f"layers/{key}", "vars")
            with reading(reader.shown):
                name = own.attrs.get("name") if own is not None else None
            if isinstance(name, (str, bytes)):
                layer_names.setdefault(_text(name), key)
    assigned = _match(model, available, layer_names, storage, config_order or [], reader.shown)
    return _collect(model, reader, assigned, available)


def _read_legacy(model: NumpyModel, reader: _H5Reader, root: Any, at: str) -> list[np.ndarray]:
    """Keras 2 style (`model.save("x.h5")`): `layer_names` in order, each group listing its `weight_names`."""
    available: dict[str, Found] = {}
    order = reader.names(root, at, "layer_names")
    for key in order:
        where = f"{at}/{key}" if at else key
        group = reader.group(root, at, key)
        if group is None:
            raise reader.error(f"layer_names lists {key}, but there is no group {where}")
        found: Found = []
        for name in reader.names(group, where, "weight_names"):
            dataset = reader.child(group, where, name)
            if dataset is None:
                raise RnnspecError("E500", f"{reader.shown} lists weight {name} of layer {key} but does not hold it")
            found.append((f"{key}/{name}", reader.dataset(dataset, f"{where}/{name}")))
        if found:
            available[key] = found
    assigned = _match(model, available, {key: key for key in available}, None, order, reader.shown)
    return _collect(model, reader, assigned, available)


def _collect(model: NumpyModel, reader: _H5Reader, assigned: dict[int, str], available: dict[str, Found]
             ) -> list[np.ndarray]:
    """The arrays in the model's order, each checked against the spec before it is read (LoRA factors filled
    with zeros)."""
    shown = reader.shown
    result: list[np.ndarray] = []
    for index, name, type_name, specs, weight_names in _layer_slices(model):
        if not specs:
            continue
        found = _by_weight_name(available[assigned[index]], specs)
        # by position, not name: a stack of cells repeats names (an LSTMCell's and a GRUCell's `rnn/kernel`)
        wanted = list(zip(specs, weight_names, range(len(specs))))
        lora = [pair for pair in wanted if pair[0].name.startswith("lora_")]
        if lora and len(found) == len(wanted) - len(lora):
            wanted = [pair for pair in wanted if not pair[0].name.startswith("lora_")]  # saved merged (Keras)
        where = f"layer '{name}' ({type_name}, read from {assigned[index]})"
        if len(found) < len(wanted):
            spec, weight_name, _ = wanted[len(found)]
            raise RnnspecError("E501", f"{shown} is missing weight {weight_name} {spec.shape} of {where}, "
                               f"which holds {len(found)} of its {len(wanted)} weights",
                               hint="the file was saved from a different layer (check use_bias and the type)")
        if len(found) > len(wanted):
            path, extra = found[len(wanted)]
            raise RnnspecError("E501", f"{shown} has an extra weight {path} {tuple(extra.shape)} for {where}, "
                               f"which has {len(wanted)} weights", hint="the file was saved from a different layer")
        arrays = {}
        for (spec, weight_name, position), (path, dataset) in zip(wanted, found):
            with reading(f"{shown} at {path}"):
                dtype = dataset.dtype
            _check_numbers(dtype, weight_name, f"{shown} at {path}")
            if tuple(dataset.shape) != spec.shape:
                raise RnnspecError("E501", f"weight {weight_name} of {where} should have shape {spec.shape}, "
                                   f"but {shown} has {tuple(dataset.shape)} at {path}",
                                   hint="the file was saved from a model with other sizes")
            arrays[position] = reader.read(dataset, path)
        for position, spec in enumerate(specs):
            result.append(arrays[position] if position in arrays else np.zeros(spec.shape, model.dtype))
    _no_extra(model, assigned, available, shown)
    return result


def _by_weight_name(found: Found, specs: list[Weight]) -> Found:
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
    """What a spec text must give to re-create a model: its layers and weights and, for a functional model, its
    inputs, outputs and wiring (`(a, b) > Subtract` and `(b, a) > Subtract` can have the same rows)."""
    rows = tuple((r.name, r.type, r.input_shape, r.output_shape, r.weights, r.outputs, r.inbound)
                 for r in report.rows)
    return (report.input, tuple(report.inputs), tuple(report.outputs), rows)


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
    elif model.report.source is not None:
        candidates.append(("kept", model.report.source, spec_path))
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
    # each in its declared shape: a layer may keep a scalar weight (Attention's `scale`, shape ()) as (1,)
    for i, ((_, spec), array) in enumerate(zip(model.weight_specs(), model.get_weights())):
        payload[f"weight_{i:04d}"] = np.reshape(array, spec.shape)
    target = Path(path)
    try:
        np.savez(target, **payload)  # type: ignore[arg-type]
    except OSError as err:
        raise RnnspecError("E500", f"cannot write {path}: {err.strerror or err}") from None
    return target if target.suffix == ".npz" else target.with_name(target.name + ".npz")


class _Npz:
    """An `.npz` opened to read only the members asked for, each header checked before its data is read."""

    def __init__(self, path: str | Path) -> None:
        self.shown = str(path)
        self.file = _open(path)
        try:
            with reading(self.shown):
                self.archive = zipfile.ZipFile(self.file)
        except RnnspecError:
            self.file.close()
            raise

    def __enter__(self) -> "_Npz":
        return self

    def __exit__(self, *_: object) -> None:
        self.archive.close()
        self.file.close()

    def has(self, member: str) -> bool:
        return f"{member}.npy" in self.archive.NameToInfo

    def weight_count(self) -> int:
        return sum(1 for name in self.archive.namelist() if re.fullmatch(r"weight_\d{4,}\.npy", name))

    def _open(self, member: str) -> tuple[Capped, NpyHeader, str]:
        info = zip_member(self.archive, f"{member}.npy", self.shown,
                           hint="write the file with save_npz() or `rnnspec compile --backend numpy -o M.npz`")
        where = f"{self.shown} (member {info.filename})"
        with reading(where):
            stream = Capped(self.archive.open(info), NPY_HEADER_BYTES, where)
        try:
            with reading(where):
                header = npy_header(stream, where)
            header.check_size(info.file_size, where)
            return stream, header, where
        except BaseException:
            stream.close()
            raise

    def header(self, member: str) -> NpyHeader:
        stream, header, _ = self._open(member)
        stream.close()
        return header

    def array(self, member: str, check: Callable[[NpyHeader, str], None]) -> np.ndarray:
        """What `member` holds, read once `check` has accepted its header (it raises if not)."""
        stream, header, where = self._open(member)
        try:
            check(header, where)
            return npy_data(stream, header, where)
        finally:
            stream.close()

    def texts(self, member: str, max_chars: int, count: int | None = None) -> list[str]:
        """A text member: one string when `count` is None, else a row of `count` strings."""
        def check(header: NpyHeader, where: str) -> None:
            if header.dtype.kind != "U" or header.dtype.itemsize > 4 * max_chars:
                raise RnnspecError("E500", f"{where} should hold text of at most {max_chars:,} characters, "
                                   f"found {header}")
            if count is not None and len(header.shape) == 1 and header.shape[0] != count:
                raise RnnspecError("E500", f"{self.shown} names {header.shape[0]} weights but holds {count}")
            if header.shape != (() if count is None else (count,)):
                raise RnnspecError("E500", f"{where} should hold {'a text' if count is None else 'a row of names'}"
                                   f", found {header}")

        array = self.array(member, check)
        return _decoded(array, f"{self.shown} (member {member}.npy)")

    def integer(self, member: str) -> int:
        def check(header: NpyHeader, where: str) -> None:
            if header.dtype.kind not in "iu" or header.shape != ():
                raise RnnspecError("E500", f"{where} should hold an integer, found {header}")

        return int(self.array(member, check)[()])


def _decoded(array: np.ndarray, where: str) -> list[str]:
    """NumPy's UCS-4 strings, decoded by Python (NumPy raises SystemError on a code point past U+10FFFF)."""
    order = array.dtype.byteorder if array.dtype.byteorder in "<>" else "<" if sys.byteorder == "little" else ">"
    codec = "utf-32-le" if order == "<" else "utf-32-be"
    width = array.dtype.itemsize
    if not width:
        return [""] * array.size
    raw = array.tobytes()
    try:
        return [raw[i:i + width].decode(codec).rstrip("\0") for i in range(0, len(raw), width)]
    except UnicodeDecodeError:
        raise RnnspecError("E500", f"{where} holds characters that are not Unicode") from None


def _float_dtype(name: str, where: str) -> str:
    try:
        kind = np.dtype(name).kind
    except (TypeError, ValueError):
        kind = ""
    if kind != "f":
        raise RnnspecError("E500", f"{where} names {name!r}, not a float dtype")
    return name


def _weight_member(index: int) -> str:
    return f"weight_{index:04d}"


class NpzContents:
    """What an rnnspec `.npz` holds: the spec text and its path, the model name, its dtype and weight names.
    The weights themselves are read by `weights(model)`, each checked against that model first."""

    def __init__(self, path: str | Path) -> None:
        self.path = shown = str(path)
        with _Npz(path) as npz:
            if not npz.has("format") or npz.texts("format", len(NPZ_FORMAT))[0] != NPZ_FORMAT:
                raise RnnspecError("E500", f"{shown} is not an rnnspec model file",
                                   hint="write one with save_npz() or `rnnspec compile --backend numpy -o M.npz`")
            version = npz.integer("format_version")
            if version > NPZ_VERSION:
                raise RnnspecError("E500", f"{shown} was written in format version {version}; this rnnspec reads "
                                   f"up to {NPZ_VERSION}", hint="upgrade rnnspec")
            self.spec = npz.texts("spec", MAX_SOURCE_CHARS)[0]
            self.spec_path = npz.texts("spec_path", MAX_PATH_CHARS)[0]
            self.model = npz.texts("model", MAX_NAME_CHARS)[0]
            self.dtype = _float_dtype(npz.texts("dtype", 32)[0], f"{shown} (member dtype.npy)")
            self.names = npz.texts("weight_names", MAX_NAME_CHARS, npz.weight_count())

    def report(self) -> ModelReport:
        """The stored spec, checked again (its errors are raised as they would be for a spec file)."""
        return _reparse(self.spec, self.spec_path, self.model)

    def weights(self, model: NumpyModel) -> list[np.ndarray]:
        """The stored weights for `model`: the names must be its names, and each member's header its weight's
        shape and a float dtype, before the member's data is read."""
        expected = model.weight_names()
        with _Npz(self.path) as npz:
            extra = npz.header(_weight_member(len(expected))).shape if len(self.names) > len(expected) else None
            _check_names(model, self.names, self.path, extra)
            return [npz.array(_weight_member(i), _fits(spec, name, layer))
                    for i, ((layer, spec), name) in enumerate(zip(model.weight_specs(), expected))]


def _fits(spec: Weight, name: str, layer: str) -> Callable[[NpyHeader, str], None]:
    def check(header: NpyHeader, where: str) -> None:
        _check_numbers(header.dtype, name, where)
        if header.shape != spec.shape:
            raise RnnspecError("E501", f"weight {name} (layer '{layer}') should have shape {spec.shape}, but "
                               f"{where} has {header.shape}", hint="the file was saved from a model with other sizes")

    return check


def _check_names(model: NumpyModel, names: Sequence[str], shown: str, extra_shape: tuple[int, ...] | None) -> None:
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
        raise RnnspecError("E501", f"{shown} has an extra weight {names[len(expected)]} {extra_shape} that model "
                           f"'{model.name}' does not have", hint="the file was saved from another model")


def load_npz(path: str | Path, dtype: str | None = None) -> NumpyModel:
    """The model saved by `save_npz`: its spec is checked again, every weight name and shape validated."""
    contents = NpzContents(path)
    model = NumpyModel(contents.report(), seed=0, dtype=dtype or contents.dtype)
    model.set_weights(contents.weights(model))
    return model


def load_npz_weights(model: NumpyModel, path: str | Path) -> None:
    """Only the weights of an rnnspec `.npz`, into an existing model; names and shapes must match."""
    model.set_weights(NpzContents(path).weights(model))


__all__ = ["load_weights", "load_from_keras", "load_keras_file", "save_npz", "load_npz", "load_npz_weights",
           "spec_text", "NpzContents"]
