"""`rnnspec from-keras`: the spec of a saved Keras model, read without TensorFlow or Keras.

The model's config (config.json of a `.keras` zip, a legacy `.h5`'s `model_config`, or a `to_json()` text) becomes
spec text with every argument written; rnnspec checks that text, which resolves each argument against its registry,
and writes it back with `spec_text`, so only the arguments that differ from rnnspec's defaults remain. The
`expect` lines carry the file's own figures (its weights counted), and the written spec is checked against them:
a model rnnspec would count differently is refused (E514), never written with wrong numbers. Anything rnnspec
cannot express is an error naming the layer (E510 a layer, E511 an argument, E512 the model).
"""
from __future__ import annotations

import heapq
import json
import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport
from rnnspec.keras_config import Source, bad_config, parse_config, read_source
from rnnspec.unparse import tensor_arguments, with_arguments

MAX_LAYERS = 10_000  # as many as rnnspec builds (E502's limit)
FLOAT32 = "float32"

# Keys Keras writes in a layer's config that rnnspec has no argument for, with the one value rnnspec means:
# any other value is an argument rnnspec cannot express (E511).
KERAS_ONLY: dict[str, tuple[Any, ...]] = {
    "trainable": (True,), "quantization_config": (None,), "zero_output_for_mask": (False,), "seed": (None,),
    "renorm_clipping": (None, {}), "rms_scaling": (False,), "optional": (False,), "input_length": (None,),
}
# Keys whose value Keras computes from the others (TextVectorization's vocabulary_size): written by no one.
DERIVED = ("vocabulary_size",)
# Keras's layers whose Python code a spec cannot hold (a spec is data).
CODE_LAYERS = {"Lambda": "it runs Python code, which a spec cannot hold (a spec is data)",
               "TFSMLayer": "it wraps a TensorFlow SavedModel", "TorchModuleWrapper": "it wraps a PyTorch module",
               "JaxLayer": "it wraps JAX code", "FlaxLayer": "it wraps Flax code"}
MODEL_CLASSES = ("Sequential", "Functional", "Model")
OBJECT_MODULES = {"keras.initializers": "initializer", "keras.regularizers": "regularizer",
                  "keras.constraints": "constraint"}
CALL_KWARGS = ("mask", "initial_state", "training")


# ---------------------------------------------------------------------------------------------- config access


def _get(mapping: Any, key: str, where: str, kind: type | tuple[type, ...] = object) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise bad_config(f"malformed Keras config: {where} has no '{key}'")
    value = mapping[key]
    if not isinstance(value, kind):
        raise bad_config(f"malformed Keras config: {where}.{key} is a {type(value).__name__}")
    return value


def _identifier(name: str, taken: set[str]) -> str:
    """A spec name for a Keras name (`input-1` -> `input_1`), not one already taken."""
    word = re.sub(r"\W", "_", name, flags=re.ASCII) or "x"
    if word[0].isdigit() or keyword.iskeyword(word) or word in ("model", "expect", "output", "None", "true",
                                                                   "false", "True", "False", "none", "null", "_"):
        word = f"t_{word}"
    while word in taken:
        word += "_"
    taken.add(word)
    return word


# ---------------------------------------------------------------------------------------------- layers as text


@dataclass
class Writer:
    """Writes Keras layer configs as spec calls; `where` lists each written line's layer as (name, class), so an
    error rnnspec finds on a line of the text names the Keras layer."""

    where: list[tuple[str, str]] = field(default_factory=list)

    def layer(self, entry: Any, name: str, inner: bool = False, skip: Sequence[str] = (),
              extra: dict[str, str] | None = None) -> str:
        from rnnspec.layers.base import aliases, registry

        class_name = _get(entry, "class_name", f"layer '{name}'", str)
        config = _get(entry, "config", f"layer '{name}'", dict)
        module = entry.get("module")
        if class_name in MODEL_CLASSES:
            raise RnnspecError("E512", f"layer '{name}' is a nested model ({class_name}), which rnnspec cannot "
                               "express", hint="write the inner model's layers into the outer one")
        if class_name in CODE_LAYERS:
            raise RnnspecError("E510", f"layer '{name}' ({class_name}) cannot be expressed: "
                               f"{CODE_LAYERS[class_name]}", hint="replace it with Keras layers rnnspec knows "
                               "(rnnspec layers lists them)")
        kind = registry().get(class_name) or registry().get(aliases().get(class_name, ""))
        custom = isinstance(module, str) and not module.startswith("keras")
        if kind is None or custom or class_name == "Input":
            what = f"a custom class from module '{module}'" if custom else "a class rnnspec does not know"
            raise RnnspecError("E510", f"layer '{name}' ({class_name}) cannot be expressed: {what}",
                               hint="rnnspec knows the layers `rnnspec layers` lists; custom layers cannot be "
                               "written in a spec")
        args: list[str] = []
        for key, value in config.items():
            if key in skip or key == "name" or key in DERIVED or _derived_default(kind, key, value, config):
                continue
            param = kind.param(key)
            if param is None or key in kind.unsupported:
                if key in KERAS_ONLY and any(_same(value, v) for v in KERAS_ONLY[key]):
                    continue
                raise self.argument(name, class_name, key, value, kind.unsupported.get(key))
            if param.deprecated:
                continue
            text = self.value(name, class_name, key, value, param)
            if text is not None:
                args.append(f"{key}={text}")
        args += [f"{key}={text}" for key, text in (extra or {}).items()]
        if not inner:
            self.where.append((name, class_name))
        return f"{kind.name}({', '.join(args)})"

    @staticmethod
    def argument(name: str, class_name: str, key: str, value: Any, why: str | None = None) -> RnnspecError:
        shown = json.dumps(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return RnnspecError("E511", f"layer '{name}' ({class_name}): argument {key}={shown} cannot be expressed "
                            "in rnnspec", hint=why or "rnnspec takes the arguments `rnnspec layers "
                            f"{class_name}` lists, with the values it documents")

    def value(self, name: str, class_name: str, key: str, value: Any, param: Any) -> str | None:
        from rnnspec.layers.base import LayerArg

        fail = lambda: self.argument(name, class_name, key, value)  # noqa: E731
        if key == "dtype":
            policy = value.get("config", {}).get("name") if isinstance(value, dict) else value
            if not isinstance(policy, str) or not re.fullmatch(r"\w+", policy):  # a word: nothing else gets in
                raise fail()
            return None if policy == FLOAT32 else policy
        if isinstance(param.type, LayerArg):
            if value is None:
                return "None"
            if isinstance(value, list):  # StackedRNNCells' cells
                cells = [self.layer(cell, f"{name}/{key}", inner=True) for cell in value]
                return "(" + ", ".join(cells) + ("," if len(cells) == 1 else "") + ")"
            return self.layer(value, f"{name}/{key}", inner=True, skip=("zero_output_for_mask",)
                              if class_name == "Bidirectional" else ())
        if type(value) is int and isinstance(param.default, tuple):
            value = [value]  # Keras writes a one-item tuple as its int
        if isinstance(value, list) and len(value) == 1 and type(param.default) is int:
            value = value[0]  # and an axis as a list (LayerNormalization's axis=-1 as [-1])
        return _value(value, fail)


def _derived_default(kind: Any, key: str, value: Any, config: dict[str, Any]) -> bool:
    """Whether Keras wrote out what rnnspec's default (None) means: `data_format` of the image data format it
    defaults to, a pooling's `strides` equal to its pool size, the backward copy Bidirectional makes itself."""
    param = kind.param(key)
    if param is None or param.default is not None and key != "backward_layer":
        return False
    if key == "value_dim":
        return value == config.get("key_dim")  # MultiHeadAttention: None means key_dim
    if key == "attention_axes":
        return value == [1]  # what Keras sets for a sequence (batch, steps, features): attend over the steps
    if key == "lora_alpha":
        return value == config.get("lora_rank")  # None means the rank; Keras writes it out
    if key == "data_format":
        return value == "channels_last"
    if key == "strides" and "pool_size" in config:
        return value == config["pool_size"]
    if key == "backward_layer" and isinstance(value, dict) and isinstance(config.get("layer"), dict):
        forward = config["layer"]
        if not isinstance(value.get("config"), dict) or not isinstance(forward.get("config"), dict):
            return False
        flipped = {**forward["config"], "go_backwards": not forward["config"].get("go_backwards", False)}
        ours = {k: _plain(v) for k, v in value["config"].items() if k != "name"}
        return ours == {k: _plain(v) for k, v in flipped.items() if k != "name"} and \
            value.get("class_name") == forward.get("class_name")
    return False


def _plain(value: Any) -> Any:
    """A config value without the ids Keras gives shared objects (two equal initialisers differ only there)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _same(value: Any, expected: Any) -> bool:
    return type(value) is type(expected) and value == expected


def _value(value: Any, fail: Callable[[], RnnspecError]) -> str:
    """A config value as spec text: lists become tuples, Keras objects calls (`RandomNormal(stddev=0.01)`)."""
    from rnnspec.layers.objects import CLASSES
    from rnnspec.unparse import _value as written

    if isinstance(value, float) and not math.isfinite(value):
        raise fail()
    if value is None or isinstance(value, (bool, int, float, str)):
        try:
            return written(value)
        except ValueError:
            raise fail() from None
    if isinstance(value, list):
        items = [_value(v, fail) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if not isinstance(value, dict):
        raise fail()
    class_name, config = value.get("class_name"), value.get("config")
    if class_name == "__tuple__" and isinstance(config, dict) and isinstance(config.get("value"), list):
        return _value(config["value"], fail)
    kind = OBJECT_MODULES.get(value.get("module") or "")
    if kind is None or class_name not in CLASSES[kind] or not isinstance(config, dict):
        raise fail()
    params = {p.name for p in CLASSES[kind][class_name]}
    args = []
    for key, item in config.items():
        if key not in params:
            raise fail()
        args.append(f"{key}={_value(item, fail)}")
    return f"{class_name}({', '.join(args)})"


def input_text(entry: Any, name: str) -> str:
    """`Input(20, 8, dtype=int32, batch_size=4)` for an InputLayer's config."""
    config = _get(entry, "config", f"input '{name}'", dict)
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    if not isinstance(shape, list) or not shape or not all(d is None or type(d) is int for d in shape):
        raise bad_config(f"malformed Keras config: input '{name}' has no batch_shape")
    for key, value in config.items():
        if key in ("batch_shape", "batch_input_shape", "name", "dtype", "sparse", "ragged"):
            continue
        if key in KERAS_ONLY and any(_same(value, v) for v in KERAS_ONLY[key]):
            continue
        raise Writer.argument(name, "InputLayer", key, value,
                              "rnnspec's Input takes a shape, dtype, batch_size, sparse and ragged")
    dims = ", ".join("None" if d is None else str(d) for d in shape[1:])
    args = [dims] if dims else ["shape=()"]
    dtype = config.get("dtype", FLOAT32)
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    if not isinstance(dtype, str) or not re.fullmatch(r"\w+", dtype):
        raise Writer.argument(name, "InputLayer", "dtype", dtype)
    if dtype != FLOAT32:
        args.append(f"dtype={dtype}")
    if shape[0] is not None:
        args.append(f"batch_size={shape[0]}")
    args += [f"{flag}=true" for flag in ("sparse", "ragged") if config.get(flag) is True]
    return f"Input({', '.join(args)})"


# ---------------------------------------------------------------------------------------------- models


@dataclass
class Draft:
    """A model written as spec text, and per layer made (in the order the text makes them) its Keras name."""

    name: str
    build: Callable[[set[str]], tuple[str, list[tuple[str, str]]]]  # names to write -> text, (name, class)s
    layer_names: list[str]
    functional: bool
    tensor_keys: list[tuple[str, int]] = field(default_factory=list)  # functional: per call, its Keras (layer, node)
    input_shapes: list[Any] = field(default_factory=list)  # sequential: per layer, the input shape Keras built it on
    named: set[str] = field(default_factory=set)  # the layers whose `name=` the text writes
    without_input: Callable[[set[str]], tuple[str, list[tuple[str, str]]]] | None = None  # a chain, its Input left out


def sequential(config: dict[str, Any], name: str) -> Draft:
    entries = _get(config, "layers", "the Sequential config", list)
    if len(entries) > MAX_LAYERS + 1:
        raise RnnspecError("E512", f"the model has {len(entries):,} layers; rnnspec builds at most {MAX_LAYERS:,}")
    layers = [(_get(e, "config", f"layer {i}", dict).get("name", f"layer_{i}"), e) for i, e in enumerate(entries)]
    head = None
    if layers and isinstance(layers[0][1], dict) and layers[0][1].get("class_name") == "InputLayer":
        head = input_text(layers[0][1], str(layers[0][0]))
        layers = layers[1:]
    elif isinstance(config.get("build_input_shape"), list):
        head = input_text({"config": {"batch_shape": config["build_input_shape"]}}, "input")
    shapes = [(e.get("build_config") or {}).get("input_shape") if isinstance(e, dict) else None for _, e in layers]
    names = [str(n) for n, _ in layers]

    def build(named: set[str], with_input: bool = True) -> tuple[str, list[tuple[str, str]]]:
        writer = Writer()
        parts = [head] if head is not None and with_input else []
        writer.where += [("input", "InputLayer")] * len(parts)
        texts = []
        for layer_name, entry in layers:
            extra = {"name": _quoted(layer_name)} if layer_name in named else None
            texts.append((writer.layer(entry, layer_name, extra=extra), layer_name not in named))
        for text, count in _runs(texts):  # the same layer n times in a row is written as a repeat, `x3`
            parts.append(text if count == 1 else f"{text} x{count}")
        return f"model {name}:\n    " + "\n    > ".join(parts) + "\n", writer.where

    return Draft(name, build, names, False, input_shapes=shapes,
                 without_input=(lambda named: build(named, False)) if head is not None else None)


MAX_GROUP = 8  # the longest group of layers looked for as a repeat, `(LSTM(64, seq) > Dropout(0.2)) x2`


def _runs(texts: list[tuple[str, bool]]) -> list[tuple[str, int]]:
    """Consecutive equal layer texts (unnamed ones), or equal groups of up to MAX_GROUP layers, as (text, how
    many times): a repeat is written as one. Linear: each start tries MAX_GROUP lengths and skips what it folds."""
    runs: list[tuple[str, int]] = []
    i = 0
    while i < len(texts):
        length, count = 1, 1
        for size in range(1, min(MAX_GROUP, (len(texts) - i) // 2) + 1):
            block = texts[i:i + size]
            if not all(foldable and not text.startswith("Input(") for text, foldable in block):
                break
            times = 1
            while texts[i + times * size:i + (times + 1) * size] == block:
                times += 1
            if times > 1 and size * times > length * count:
                length, count = size, times
        block = [text for text, _ in texts[i:i + length]]
        runs.append((block[0] if length == 1 else "(" + " > ".join(block) + ")", count))
        i += length * count
    return runs


def _quoted(name: str) -> str:
    if "/" in name or '"' in name or "\n" in name or not name:
        raise RnnspecError("E511", f"layer name {name!r} cannot be written in a spec",
                           hint="Keras layer names in a spec have no '/', quote or newline")
    return f'"{name}"'


def _history(tensor: Any, where: str) -> Ref:
    if not (isinstance(tensor, dict) and tensor.get("class_name") == "__keras_tensor__"):
        raise bad_config(f"malformed Keras config: {where} is not a tensor")
    history = _get(tensor.get("config"), "keras_history", where, list)
    if len(history) != 3 or not isinstance(history[0], str) or not all(type(i) is int for i in history[1:]):
        raise bad_config(f"malformed Keras config: {where} has a bad keras_history")
    return history[0], history[1], history[2]


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _operation(entry: Any) -> bool:
    module = entry.get("module") if isinstance(entry, dict) else None
    return isinstance(module, str) and module.startswith(("keras.src.ops.", "keras.ops."))


Ref = tuple[str, int, int]  # Keras's keras_history: (layer name, node index, tensor index)


@dataclass
class Call:
    """One call of a Keras layer (a node of the functional graph) and the tensors it reads."""

    layer: str
    node: int
    inputs: list[Ref]
    several: bool  # called on a list (a merge, attention)
    states: list[Ref]
    mask: Ref | None
    options: dict[str, Any]  # call arguments written with the layer's (Attention's return_attention_scores)
    masks: list[Ref] = field(default_factory=list)  # as recorded; `mask` is decided once operations are known
    masks_listed: bool = False


def functional(config: dict[str, Any], name: str) -> Draft:
    from rnnspec.layers.base import aliases, registry

    entries = _get(config, "layers", "the model config", list)
    if len(entries) > MAX_LAYERS * 4:
        raise RnnspecError("E512", f"the model has {len(entries):,} layers; rnnspec builds at most {MAX_LAYERS:,}")
    by_name: dict[str, dict[str, Any]] = {}
    order: dict[str, int] = {}
    operations: set[str] = set()
    calls: list[Call] = []
    for index, entry in enumerate(entries):
        layer = _get(entry, "name", f"layer {index}", str)
        if layer in by_name:
            raise bad_config(f"malformed Keras config: two layers are named '{layer}'")
        by_name[layer], order[layer] = entry, index
        if _operation(entry):
            operations.add(layer)
            continue
        nodes = _get(entry, "inbound_nodes", f"layer '{layer}'", list)
        if entry.get("class_name") == "InputLayer":
            calls.append(Call(layer, 0, [], False, [], None, {}))
            continue
        if not nodes:
            continue  # made and never called: Keras saves it, nothing uses it
        kind = registry().get(entry.get("class_name")) or registry().get(aliases().get(entry.get("class_name"), ""))
        options = getattr(kind, "call_option_names", ()) if kind is not None else ()
        for node_index, node in enumerate(nodes):
            calls.append(_call(layer, node_index, node, options, entry))
    used_as_data = {ref[0] for call in calls for ref in (*call.inputs, *call.states)}
    for op in sorted(operations & used_as_data):
        raise RnnspecError("E510", f"layer '{op}' ({by_name[op].get('class_name')}) cannot be expressed: it is a "
                           "Keras operation applied to a tensor (keras.ops), not a layer",
                           hint="rnnspec writes layers only; Keras's own mask operations are the exception")
    for call in calls:  # a mask Keras computed itself (mask_zero, Masking) is implied in a spec
        if all(ref[0] in operations for ref in call.masks):
            call.mask = None
        elif len(call.masks) == 1 and not call.masks_listed:
            call.mask = call.masks[0]
        else:
            raise Writer.argument(call.layer, str(by_name[call.layer].get("class_name")), "mask", "a list of masks",
                                  "rnnspec passes one mask tensor (mask=m) or the masks Keras computes itself")
    _drop_carried_masks(calls)
    called = {call.layer for call in calls}
    for call in calls:
        for ref in (*call.inputs, *call.states, *([call.mask] if call.mask else [])):
            if ref[0] not in called:
                raise bad_config(f"malformed Keras config: layer '{call.layer}' reads '{ref[0]}', which is no layer")
    inputs = [_history({"class_name": "__keras_tensor__", "config": {"keras_history": ref}}, "an input")
              for ref in _triples(config.get("input_layers"), "input_layers")]
    outputs = [_history({"class_name": "__keras_tensor__", "config": {"keras_history": ref}}, "an output")
               for ref in _triples(config.get("output_layers"), "output_layers")]
    for ref in inputs:
        if ref[0] not in by_name or by_name[ref[0]].get("class_name") != "InputLayer":
            raise RnnspecError("E512", f"input '{ref[0]}' is not an InputLayer",
                               hint="a model nested as another's input cannot be expressed")
    ordered = _topological(calls, inputs, order)
    counts: dict[str, int] = {}
    for call in ordered:
        counts[call.layer] = counts.get(call.layer, 0) + 1
    taken: set[str] = set()
    tensor_names: dict[Ref, str] = {}
    for call in ordered:
        if not call.inputs:
            tensor_names[(call.layer, 0, 0)] = _identifier(call.layer, taken)
    bindings = {layer: _identifier(layer, taken) for layer, count in counts.items() if count > 1}
    refs_used = [ref for call in ordered for ref in (*call.inputs, *call.states, *([call.mask] if call.mask else []))]
    widths = {(c.layer, c.node): _output_count(by_name[c.layer], c) for c in ordered}
    for ref in [*refs_used, *outputs]:
        if ref[:2] in widths and ref[2] >= widths[ref[:2]]:
            raise bad_config(f"malformed Keras config: layer '{ref[0]}' has no output {ref[2]}")
    for ref in [*refs_used, *outputs]:
        if ref not in tensor_names:
            tensor_names[ref] = _identifier(f"t_{ref[0]}_{ref[1]}_{ref[2]}", taken)
    layer_names: list[str] = []  # an input is named by its binding: its Keras name made a spec name
    for call in ordered:
        name_in_spec = tensor_names[(call.layer, 0, 0)] if not call.inputs else call.layer
        if name_in_spec not in layer_names:
            layer_names.append(name_in_spec)

    def name_of(ref: Ref) -> str:
        return tensor_names[ref]

    def build(named: set[str]) -> tuple[str, list[tuple[str, str]]]:
        writer = Writer()
        lines, bound = [], set()
        for call in ordered:
            entry = by_name[call.layer]
            if not call.inputs:
                lines.append(f"{name_of((call.layer, 0, 0))} = {input_text(entry, call.layer)}")
                writer.where.append((call.layer, "InputLayer"))
                continue
            extra = {"name": _quoted(call.layer)} if call.layer in named else {}
            extra.update({k: _value(v, lambda: Writer.argument(call.layer, entry.get("class_name", "?"), k, v))
                          for k, v in call.options.items()})
            tensor_args = tensor_arguments(call, name_of)
            if call.layer in bindings:
                if call.layer not in bound:
                    bound.add(call.layer)
                    lines.append(f"{bindings[call.layer]} = {writer.layer(entry, call.layer, extra=extra)}")
                target = bindings[call.layer] + (f"({', '.join(tensor_args)})" if tensor_args else "")
            else:
                text = writer.layer(entry, call.layer, extra=extra)
                target = with_arguments(text, tensor_args)
            sources = [name_of(ref) for ref in call.inputs]
            start = f"({', '.join(sources)})" if call.several else sources[0]
            width = widths.get((call.layer, call.node), 1)
            targets = [tensor_names.get((call.layer, call.node, i), "_") for i in range(width)]
            lines.append(f"{', '.join(targets)} = {start} > {target}" if any(t != "_" for t in targets)
                         else f"{start} > {target}")
        lines.append("output " + ", ".join(name_of(ref) for ref in outputs))
        return f"model {name}:\n" + "".join(f"    {line}\n" for line in lines), writer.where

    return Draft(name, build, layer_names, True, tensor_keys=[(c.layer, c.node) for c in ordered])


_STATES = {"LSTM": 2, "ConvLSTM1D": 2, "ConvLSTM2D": 2, "ConvLSTM3D": 2, "GRU": 1, "SimpleRNN": 1,
           "LSTMCell": 2, "GRUCell": 1, "SimpleRNNCell": 1}


def _states(entry: Any) -> int:
    """How many states a recurrent layer's config returns with return_state (0 for another layer)."""
    if not isinstance(entry, dict):
        return 0
    class_name, config = entry.get("class_name"), entry.get("config") or {}
    if class_name == "RNN":
        cell = config.get("cell") or {}
        cells = (cell.get("config") or {}).get("cells") if cell.get("class_name") == "StackedRNNCells" else [cell]
        return sum(_STATES.get(c.get("class_name"), 1) for c in cells if isinstance(c, dict))
    if class_name == "Bidirectional":
        return 2 * _states(config.get("layer"))
    return _STATES.get(class_name, 0)


def _output_count(entry: dict[str, Any], call: "Call") -> int:
    """How many tensors a call gives: the output, then the states (return_state) or attention scores."""
    config = entry.get("config") or {}
    if call.options.get("return_attention_scores"):
        return 2
    inner = config.get("layer") if entry.get("class_name") == "Bidirectional" else entry
    if isinstance(inner, dict) and (inner.get("config") or {}).get("return_state"):
        return 1 + _states(entry)
    return 1


def _triples(value: Any, where: str) -> list[Any]:
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [value]  # one input or output is written as its triple alone
    if not isinstance(value, list) or not value:
        raise bad_config(f"malformed Keras config: no {where}")
    return value


def _call(layer: str, index: int, node: Any, options: Sequence[str], entry: dict[str, Any]) -> Call:
    where = f"call {index} of layer '{layer}'"
    args = _get(node, "args", where, list)
    kwargs = _get(node, "kwargs", where, dict)
    if not args:
        raise bad_config(f"malformed Keras config: {where} has no input")
    several = isinstance(args[0], list) or len(args) > 1
    tensors = args[0] if isinstance(args[0], list) else args
    if not all(_is_tensor(t) for t in tensors) or isinstance(args[0], list) and len(args) > 1:
        raise Writer.argument(layer, str(entry.get("class_name")), "call arguments", args,
                              "rnnspec calls a layer on tensors only")
    inputs = [_history(t, where) for t in tensors]
    states: list[Ref] = []
    masks: list[Ref] = []
    listed = False
    call_options: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "training" or value is None:
            continue
        if key == "initial_state":
            flat = _flatten(value)
            if not all(_is_tensor(t) for t in flat):
                raise Writer.argument(layer, str(entry.get("class_name")), key, value)
            states = [_history(t, where) for t in flat]
        elif key == "mask":
            listed = isinstance(value, list)
            masks = [_history(m, where) for m in (value if listed else [value]) if m is not None]
        elif key in options:
            call_options[key] = value
        else:
            raise Writer.argument(layer, str(entry.get("class_name")), f"call argument {key}", value)
    return Call(layer, index, inputs, several, states, None, call_options, masks, listed)


def _drop_carried_masks(calls: list[Call]) -> None:
    """A `mask=` Keras recorded on a call because its input carries that mask already (the mask given to a
    `GRU(seq)` reaches the next layer with its output): rnnspec carries it the same way, so the spec leaves it out."""
    given = {(c.layer, c.node): c.mask for c in calls}
    for call in calls:
        if call.mask is not None and len(call.inputs) == 1 and given.get(call.inputs[0][:2]) == call.mask:
            call.mask = None if not call.states else call.mask


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for inner in value for item in _flatten(inner)]
    return [value]


def _topological(calls: list[Call], inputs: list[Ref], order: dict[str, int]) -> list[Call]:
    """The calls in an order a spec can write them: inputs first (in the model's order), then any call whose
    tensors are made, preferring the layer Keras made first (`lstm` before `lstm_1`), so rnnspec's automatic names
    come out as Keras's."""
    made: set[tuple[str, int]] = set()
    first = {ref[0]: i for i, ref in enumerate(inputs)}
    ins = sorted((c for c in calls if not c.inputs), key=lambda c: (first.get(c.layer, len(first)), order[c.layer]))
    result = list(ins)
    made.update((c.layer, 0) for c in ins)
    waiting = [c for c in calls if c.inputs]

    def rank(call: Call) -> tuple[int, int, int]:
        match = re.search(r"_(\d+)$", call.layer)
        return (int(match.group(1)) if match else 0, order[call.layer], call.node)

    # Kahn's order, the ready call of least rank first: linear (with a heap's log) in calls and tensors
    left: list[int] = []
    readers: dict[tuple[str, int], list[int]] = {}
    ready: list[tuple[tuple[int, int, int], int]] = []
    for index, call in enumerate(waiting):
        needs = {ref[:2] for ref in (*call.inputs, *call.states, *([call.mask] if call.mask else []))} - made
        left.append(len(needs))
        for tensor in needs:
            readers.setdefault(tensor, []).append(index)
        if not needs:
            heapq.heappush(ready, (rank(call), index))
    while ready:
        call = waiting[heapq.heappop(ready)[1]]
        result.append(call)
        for index in readers.pop((call.layer, call.node), ()):
            left[index] -= 1
            if left[index] == 0:
                heapq.heappush(ready, (rank(waiting[index]), index))
    if len(result) != len(calls):
        raise bad_config("malformed Keras config: its layers' calls form a cycle or read tensors no layer makes")
    return result


# ---------------------------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """The file's own figures: its weights counted, and (from a live model) its output shapes."""

    params: int | None = None
    non_trainable: int | None = None
    shapes: list[tuple[int | None, ...]] | None = None
    arrays: list[Any] | None = None


def _check(text: str, where: list[tuple[str, str]]) -> ModelReport:
    """rnnspec's report of a written draft; its errors as E511 (an argument) or E512 (the model), naming the layer."""
    from rnnspec.api import check

    reports = check(text, path="<from-keras>")
    report = reports[0]
    if not report.errors:
        return report
    error = report.errors[0]
    line = error.span.line if error.span is not None else 0
    layer = where[line - 2] if 0 <= line - 2 < len(where) else None  # line 1 is `model NAME:`, then one per line
    named = f"layer '{layer[0]}' ({layer[1]}): " if layer else ""
    code = "E511" if error.code.startswith("E2") else "E512"
    what = "an argument rnnspec cannot express" if code == "E511" else "a model rnnspec cannot express"
    raise RnnspecError(code, f"{named}{what}: {error.message} [{error.code}]", hint=error.hint)


def _layer_names(report: ModelReport) -> list[str]:
    if report.network is None:
        return [row.name for row in report.rows]
    graph = report.network.graph
    return [report.network.names[i] for i, node in enumerate(graph.layers)]


def draft_report(draft: Draft) -> ModelReport:
    """The report of the shortest text whose layers rnnspec names as Keras named them: no `name=` where rnnspec's
    automatic name is Keras's, else one where it differs, else every name written."""
    wanted = draft.layer_names
    named: set[str] = set()
    for attempt in range(3):
        text, where = draft.build(named)
        report = _check(text, where)
        got = _layer_names(report)
        if got == wanted:
            draft.named = named
            return report
        if attempt == 0:
            named = {w for w, g in zip(wanted, got) if w != g}
        else:
            named = set(wanted)
    raise RnnspecError("E512", "rnnspec names the model's layers differently from Keras, even when given",
                       hint=f"Keras: {', '.join(wanted[:8])}; rnnspec: {', '.join(got[:8])}")


def model_draft(config: dict[str, Any], name: str | None) -> Draft:
    class_name = config.get("class_name")
    inner = config.get("config")
    if class_name not in MODEL_CLASSES:
        module = config.get("module")
        raise RnnspecError("E512", f"the model is a {class_name!r} (module {module!r}), which rnnspec cannot express",
                           hint="rnnspec reads Sequential and functional models; a subclassed model's call is "
                           "Python code: rebuild it as a functional model")
    if not isinstance(inner, dict):
        raise bad_config("malformed Keras config: the model has no config")
    given = name or str(inner.get("name") or "model")
    model_name = given if given == "model" else _identifier(given, set())
    if name is not None and model_name != name:
        raise RnnspecError("E511", f"--name {name!r} is not a model name a spec can have",
                           hint="a name of letters, digits and underscores, not starting with a digit")
    if class_name == "Sequential":
        return sequential(inner, model_name)
    if "input_layers" not in inner:
        raise RnnspecError("E512", f"the model '{inner.get('name')}' ({class_name}) has no input_layers",
                           hint="a subclassed model cannot be expressed: rebuild it as a functional model")
    return functional(inner, model_name)


def canonical(report: ModelReport, draft: Draft) -> str:
    """The spec as `spec_text` writes it: tensors named only where they must be (their names were made up)."""
    from rnnspec.unparse import spec_text

    if report.network is not None:
        return _functional_canonical(report, draft)
    text = spec_text(report)
    without = draft.without_input
    if without is not None and report.graph is not None and report.rows:
        first = report.rows[0].node
        implied = first.kind.implied_input(first.args)
        written = report.graph.input_node.args if report.graph.input_node is not None else {}
        if implied is not None and tuple(implied) == tuple(report.input) and not written.get("sparse") \
                and not written.get("ragged"):
            shorter, where = without(draft.named)
            return spec_text(_check(shorter, where))
    return text


def _signatures(report: ModelReport, table: dict[Any, int]) -> list[set[int]]:
    """Per layer, what its calls are, independent of the order they are written in: the layer's text (every
    argument) and, recursively, what feeds each call. Two texts of one model give equal signatures when they share
    `table`, which numbers each distinct signature: a call's signature holds its inputs' numbers, not their whole
    history (which doubles at every merge of a residual chain)."""
    from rnnspec.functional import Ref as Tensor
    from rnnspec.layers.base import Args, LayerNode
    from rnnspec.unparse import _layer

    graph = report.network.graph
    ids: dict[Any, int] = {}
    per_layer: list[set[int]] = [set() for _ in graph.layers]
    for index, call in enumerate(graph.calls):
        node = graph.layers[call.layer]
        if not call.inputs:
            signature: Any = ("input", graph.input_names.get(call.layer))
        else:
            unnamed = LayerNode(node.kind, Args({**node.args, "name": None}), node.span)  # names are what we match
            signature = (_layer(unnamed, fill=True), tuple(ids[r] for r in call.inputs),
                         tuple(ids[r] for r in call.states), ids.get(call.mask))
        number = table.setdefault(signature, len(table))
        per_layer[call.layer].add(number)
        for i in range(len(report.network.tensors[index])):
            ids[Tensor(index, i)] = table.setdefault((number, i), len(table))
    return per_layer


def _functional_canonical(report: ModelReport, draft: Draft) -> str:
    """`spec_text` of a functional model with made-up tensor names dropped. Writing it reorders the calls (a chain
    is written where it is used), which can change rnnspec's automatic layer names: each layer whose name then
    differs from Keras's gets `name=` (matched to Keras's layer by its signature), until all agree."""
    from rnnspec.api import check
    from rnnspec.unparse import spec_text

    graph = report.network.graph
    keep = {ref: name for ref, name in graph.tensor_names.items() if ref.call in graph.inputs}
    graph.tensor_names.clear()
    graph.tensor_names.update(keep)
    table: dict[Any, int] = {}
    wanted = {frozenset(sig): name for sig, name in zip(_signatures(report, table), draft.layer_names)}
    text = spec_text(report)
    for _ in range(3):
        written = check(text, path="<from-keras>")[0]
        if written.errors:
            raise _misfit(f"the spec rnnspec wrote back does not check: {written.errors[0]}")
        names = written.network.names
        renamed = False
        for index, sig in enumerate(_signatures(written, table)):
            keras_name = wanted.get(frozenset(sig))
            if keras_name is None:
                raise _misfit("the spec rnnspec wrote back has another layer graph than Keras's config")
            node = written.network.graph.layers[index]
            if names[index] != keras_name and node.type_name != "Input":
                node.args["name"] = keras_name
                renamed = True
        if not renamed:
            return text
        for ref in list(written.network.graph.tensor_names):
            if ref.call not in written.network.graph.inputs:
                del written.network.graph.tensor_names[ref]
        text = spec_text(written)
    raise RnnspecError("E512", "rnnspec names the model's layers differently from Keras, even when given")


def _cross_check(report: ModelReport, draft: Draft, config: dict[str, Any]) -> None:
    """Each shape Keras's config records (a layer's built input shape; a functional call's input tensors) must be
    rnnspec's: otherwise the spec would describe another model (E514)."""
    if report.network is None:
        shapes = [report.input.shape if report.input else None] + [row.output_shape for row in report.rows]
        for i, (row, claimed) in enumerate(zip(report.rows, draft.input_shapes)):
            if isinstance(claimed, list) and all(d is None or type(d) is int for d in claimed) \
                    and shapes[i] is not None and tuple(claimed) != tuple(shapes[i]):
                raise _misfit(f"layer '{row.name}' ({row.type}) was built by Keras on {tuple(claimed)}, but rnnspec "
                              f"feeds it {tuple(shapes[i])}")
        return
    network = report.network
    made = {key: index for index, key in enumerate(draft.tensor_keys)}
    for entry in config.get("config", {}).get("layers", []):
        for node in entry.get("inbound_nodes", []) if not _operation(entry) else []:
            for tensor in _flatten(node.get("args", [])):
                if not _is_tensor(tensor):
                    continue
                layer, index, which = _history(tensor, "an input")
                shape = tensor.get("config", {}).get("shape")
                call = made.get((layer, index))
                if call is None or not isinstance(shape, list) or which >= len(network.tensors[call]):
                    continue
                ours = network.tensors[call][which].shape
                if tuple(shape) != tuple(ours):
                    raise _misfit(f"the output of layer '{layer}' is {tuple(shape)} in Keras's config, but "
                                  f"{tuple(ours)} in rnnspec's inference")


def _misfit(message: str, hint: str | None = None) -> RnnspecError:
    return RnnspecError("E514", message, hint=hint or "rnnspec cannot write this model with Keras's figures; "
                        "please report it")


def _shape_text(shapes: Sequence[Sequence[int | None]]) -> str:
    from rnnspec.shape import format_shape

    if len(shapes) == 1:
        return format_shape(tuple(shapes[0]))
    return "(" + ", ".join(format_shape(tuple(s)) for s in shapes) + ")"


def _number(n: int) -> str:
    return f"{n:_}"


def expectations(report: ModelReport, figures: Figures) -> str:
    shapes = figures.shapes or [t.shape for t in report.outputs] if report.network is not None else \
        figures.shapes or [report.output]
    lines = [f"expect shape {_shape_text(shapes)}"]
    params = figures.params if figures.params is not None else report.total
    non_trainable = figures.non_trainable if figures.non_trainable is not None else report.non_trainable
    lines.append(f"expect params {_number(params)}")
    if non_trainable:
        lines.append(f"expect non_trainable {_number(non_trainable)}")
    return "".join(f"    {line}\n" for line in lines)


# ---------------------------------------------------------------------------------------------- entry points


@dataclass
class Converted:
    """A converted model: its spec text, its report, and the NumPy model when weights were read."""

    text: str
    report: ModelReport
    numpy_model: Any = None


def convert(source: Source, name: str | None = None, with_weights: bool = False) -> Converted:
    """The spec of a model's config, checked against the figures of its weights (E514 if rnnspec counts otherwise)."""
    from rnnspec.api import check

    try:
        draft = model_draft(source.config, name)
        report = draft_report(draft)
        text = canonical(report, draft)
        report = check(text, path="<from-keras>")[0]
        if report.errors:
            raise _misfit(f"the spec rnnspec wrote back does not check: {report.errors[0]}")
        _cross_check(report, draft, source.config)
    except RecursionError:
        raise bad_config(f"{source.shown} is nested too deeply to be a Keras model") from None
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:  # a config of the wrong shape
        raise bad_config(f"malformed Keras config in {source.shown}: {type(err).__name__}: {err}") from None
    figures, numpy_model = weigh(source, report, with_weights)
    text = text + expectations(report, figures)
    final = check(text, path="<from-keras>")[0]
    if final.errors:
        error = final.errors[0]
        raise _misfit(f"the model's own figures differ from rnnspec's: {error.message}",
                      hint="rnnspec counts this model differently from Keras; please report it")
    return Converted(text, final, numpy_model)


def weigh(source: Source, report: ModelReport, with_weights: bool) -> tuple[Figures, Any]:
    """The file's figures: its weights read into rnnspec's NumPy model (every shape checked), then counted."""
    if source.live is not None:
        model = source.live
        variables = list(model.weights)
        frozen = {id(v) for v in model.non_trainable_weights}
        figures = Figures(sum(int(math.prod(v.shape)) for v in variables),
                          sum(int(math.prod(v.shape)) for v in variables if id(v) in frozen),
                          [tuple(t.shape) for t in model.outputs])
        numpy_model = None
        if with_weights:
            from rnnspec.api import compile as build
            from rnnspec.backends.numpy.weights_io import load_from_keras

            numpy_model = build(report, backend="numpy")
            _as_misfit(lambda: load_from_keras(numpy_model, model))
        return figures, numpy_model
    if source.weights_path is None:
        if with_weights:
            raise RnnspecError("E513", f"{source.shown} holds no weights",
                               hint="give the .keras or .h5 file the model was saved to")
        return Figures(), None
    from rnnspec.api import compile as build
    from rnnspec.backends.numpy.weights_io import load_keras_file

    try:
        numpy_model = build(report, backend="numpy")
    except RnnspecError as err:  # TextVectorization: no NumPy model, so rnnspec's own counts
        if with_weights or err.code != "E501":
            raise
        return Figures(), None
    _as_misfit(lambda: load_keras_file(numpy_model, source.weights_path))
    sizes = [(spec, array) for (_, spec), array in zip(numpy_model.weight_specs(), numpy_model.get_weights())]
    params = sum(int(array.size) for _, array in sizes)
    frozen = sum(int(array.size) for spec, array in sizes if not spec.trainable)
    return Figures(params, frozen), numpy_model


def _as_misfit(load: Callable[[], None]) -> None:
    try:
        load()
    except RnnspecError as err:
        if err.code == "E501" and "h5py" not in err.message:
            raise _misfit(f"the file's weights do not fit the spec: {err.message}", err.hint) from None
        if err.code == "E500":
            raise RnnspecError("E513", err.message, hint=err.hint) from None
        raise


def from_keras_file(path: str | Path, *, name: str | None = None, weights: str | Path | None = None) -> str:
    """The spec of a saved Keras model (`.keras`, legacy `.h5` or a `to_json()` file), read without TensorFlow;
    with `weights`, also the NumPy model's `.npz` (spec and weights) written there."""
    converted = convert(read_source(path), name, weights is not None)
    if weights is not None:
        _save(converted, weights)
    return converted.text


def from_keras(model: Any, *, name: str | None = None, weights: str | Path | None = None) -> str:
    """The spec of a live `keras.Model` (its `to_json()` config, its weights counted); with `weights`, also the
    NumPy model's `.npz` (spec and weights) written there."""
    try:
        text = model.to_json()
    except Exception as err:  # a subclassed model's get_config raises NotImplementedError
        raise RnnspecError("E512", f"the model {type(model).__name__} has no config rnnspec can read: {err}",
                           hint="a subclassed model's call is Python code: rebuild it as a functional model") \
            from None
    config = parse_config(text.encode("utf-8"), f"model '{getattr(model, 'name', '?')}'")
    converted = convert(Source(config, f"model '{getattr(model, 'name', '?')}'", live=model), name,
                        weights is not None)
    if weights is not None:
        _save(converted, weights)
    return converted.text


def _save(converted: Converted, path: str | Path) -> None:
    from rnnspec.backends.numpy.weights_io import save_npz

    if not str(path).endswith(".npz"):
        raise RnnspecError("E500", f"cannot write NumPy weights to {path}", hint="give a path ending in .npz")
    save_npz(converted.numpy_model, path, source=converted.text)


__all__ = ["from_keras", "from_keras_file", "read_source", "convert"]
