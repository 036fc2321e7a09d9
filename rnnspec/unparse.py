"""Models written back as spec text from their resolved arguments: for `rnnspec check --fill` (every default
made explicit, so a reviewer sees what the short form means) and for saving a model whose source is unknown."""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

from rnnspec.graph import Item
from rnnspec.infer import ModelReport
from rnnspec.layers.base import LayerNode
from rnnspec.layers.objects import KerasObject


def spec_text(report: ModelReport, fill: bool = False) -> str:
    """A spec that re-creates this model exactly (same layers, arguments, names and weights), written from
    the resolved arguments: `model NAME:` then one layer or repeat per line (a repeat stays a repeat, so the text
    stays as short as the spec); only the arguments that differ from their default, or with `fill` every one."""
    if report.network is not None:
        return _functional_text(report, fill)
    parts = []
    graph = report.graph
    if report.input is not None and (graph is None or graph.input is not None):
        shape, dtype = report.input
        written = graph.input_node.args if graph is not None and graph.input_node is not None else {}
        parts.append(_input_call(shape[1:], dtype, shape[0], written))
    if graph is not None:  # repeats written as repeats: `x9999` stays short, and within the size limit
        parts += [_item(item, fill) for item in graph.layers]
    else:
        parts += [_layer(row.node, fill) for row in report.rows]
    assertions = _assertion_lines(graph.assertions if graph is not None else ())
    return f"model {report.name}:\n    " + "\n    > ".join(parts) + "\n" + "".join(f"    {a}\n" for a in assertions)


def _assertion_lines(assertions: Any) -> list[str]:
    """The model's assertions as written: `expect shape (None, 32)`, `expect macs 1_234_560 at T=100`."""
    from rnnspec.shape import format_shape

    lines = []
    for assertion in assertions:
        expected = assertion.expected
        if assertion.kind == "shape":
            several = bool(expected) and isinstance(expected[0], tuple)
            text = "(" + ", ".join(format_shape(s) for s in expected) + ")" if several else format_shape(expected)
        else:
            text = f"{expected:_}"
        at = "" if getattr(assertion, "at", None) is None else f" at T={assertion.at}"
        lines.append(f"expect {assertion.kind} {text}{at}")
    return lines


def _item(item: Item, fill: bool) -> str:
    if isinstance(item, LayerNode):
        return _layer(item, fill)
    body = " > ".join(_item(inner, fill) for inner in item.body)
    alone = len(item.body) == 1 and isinstance(item.body[0], LayerNode)  # `(A x2) x3`: one repeat per stage
    return f"{body if alone else f'({body})'} x{item.count}"


def _layer(node: LayerNode, fill: bool = False) -> str:
    """A layer as a person writes it (`LSTM(4, seq)`, `mask_zero`), or with `fill` every argument as `name=value`."""
    positional, flags, keywords = [], [], []
    short = {} if fill else _flag_names(node.kind)
    for param in node.kind.params:
        if param.name not in node.args:
            continue
        value = node.args[param.name]
        default = param.default
        if not fill and not param.required and type(value) is type(default) and value == default:
            continue
        if param.required and param.positional:
            positional.append(_value(value, fill))
        elif value is True and param.name in short:
            flags.append(short[param.name])
        else:
            keywords.append(f"{param.name}={_value(value, fill)}")
    return f"{node.type_name}({', '.join(positional + flags + keywords)})"


def _flag_names(kind: Any) -> dict[str, str]:
    """The bare word that sets each boolean argument to true: a declared alias (`seq`) or else its own name."""
    return {target: alias for alias, (target, value) in kind.flag_table.items() if value is True}


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = {"None", "none", "null", "true", "True", "false", "False", "model", "expect"}


def _value(value: Any, fill: bool = False) -> str:
    if isinstance(value, LayerNode):
        return _layer(value, fill)
    if isinstance(value, KerasObject):
        return value.spec()
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value} in a spec")
        return repr(value)
    if isinstance(value, str):
        if _NAME.fullmatch(value) and value not in _RESERVED:
            return value
        if '"' not in value and "\n" not in value:
            return f'"{value}"'
        raise ValueError(f"cannot write the string {value!r} in a spec")
    if isinstance(value, tuple):
        return "(" + ", ".join(_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    raise ValueError(f"cannot write {value!r} in a spec")


def _functional_text(report: ModelReport, fill: bool) -> str:
    """A functional model as statements. A tensor keeps the name the spec bound it to; an unnamed one that feeds
    exactly one later call continues that call's chain; any other is named `t<call>`. A bound (shared) layer is
    bound where it was made, so that every layer is made, and named, in the order it was; the outputs are listed
    unless the last chain is the only one."""
    from rnnspec.functional import Ref

    network = report.network
    graph = network.graph
    uses: dict[Any, int] = {}
    positional: set[Any] = set()
    for call in graph.calls:
        positional.update(call.inputs)
        for ref in (*call.inputs, *call.states, *([call.mask] if call.mask is not None else [])):
            uses[ref] = uses.get(ref, 0) + 1
    for ref in graph.outputs:
        uses[ref] = uses.get(ref, 0) + 2  # an output is listed by name
    taken = set(graph.tensor_names.values()) | set(graph.layer_bindings.values())
    names: dict[Any, str] = dict(graph.tensor_names)

    def name_of(ref: Any) -> str:
        if ref not in names:
            name = f"t{ref.call}" + (f"_{ref.index}" if ref.index else "")
            while name in taken:
                name += "_"
            taken.add(name)
            names[ref] = name
        return names[ref]

    def inlined(ref: Any) -> bool:
        return (ref not in graph.tensor_names and uses.get(ref) == 1 and ref in positional
                and len(network.tensors[ref.call]) == 1 and ref.call not in graph.inputs or
                ref.call in graph.inputs and ref not in graph.tensor_names and uses.get(ref) == 1)

    lines: list[str] = []
    pending: dict[int, str] = {}  # call -> its expression, waiting for the call that continues it
    unbound = sorted(graph.layer_bindings, reverse=True)  # bound layers not written yet, the first made last

    def bind_layers_made_before(layer: int) -> None:
        """Write `name = Layer(...)` for each bound layer made before `layer`, where it was made: chains still
        waiting are written out first (named), since their layers were made before it."""
        while unbound and unbound[-1] <= layer:
            bound = unbound.pop()
            for waiting, expression in pending.items():
                ref = Ref(waiting)
                uses[ref] = 2  # named from now on
                lines.append(f"{name_of(ref)} = {expression}")
            pending.clear()
            lines.append(f"{graph.layer_bindings[bound]} = {_layer(graph.layers[bound], fill)}")

    for index, call in enumerate(graph.calls):
        node = graph.layers[call.layer]
        bind_layers_made_before(call.layer)
        if not call.inputs:
            expression = _input_call(node.args.shape, node.args.dtype, node.args.batch_size, node.args)
        else:
            sources = [pending.pop(ref.call) if inlined(ref) and ref.call in pending else name_of(ref)
                       for ref in call.inputs]
            start = f"({', '.join(sources)})" if call.several else sources[0]
            expression = f"{start} > {_call_text(node, call, graph, name_of, fill)}"
        outputs = [(index, i) for i in range(len(network.tensors[index]))]
        refs = [Ref(*o) for o in outputs]
        if len(refs) == 1 and inlined(refs[0]):
            pending[index] = expression
            continue
        targets = [name_of(ref) if uses.get(ref) or ref in graph.tensor_names else "_" for ref in refs]
        lines.append(f"{', '.join(targets)} = {expression}" if any(t != "_" for t in targets) else expression)
    last = graph.outputs[0] if len(graph.outputs) == 1 else None
    binding = f"{name_of(last)} = " if last is not None else ""
    if last is not None and last not in graph.tensor_names and lines[-1].startswith(binding):
        lines[-1] = lines[-1][len(binding):]  # the last chain is the output: no name, no `output` line
    else:
        lines.append("output " + ", ".join(name_of(ref) for ref in graph.outputs))
    lines += _assertion_lines(report.functional.assertions if report.functional is not None else ())
    return f"model {report.name}:\n" + "".join(f"    {line}\n" for line in lines)


def _input_call(dims: tuple[int | None, ...], dtype: str, batch: int | None, written: Mapping[str, Any]) -> str:
    """`Input(20, 8, dtype=int32, batch_size=4, ragged=true)`; a scalar per sample is `Input(shape=())`. `written`
    is the Input's arguments, where the spec wrote one."""
    args = [_value(d) for d in dims] or ["shape=()"]
    if dtype != "float32":
        args.append(f"dtype={dtype}")
    if batch is not None:
        args.append(f"batch_size={batch}")
    args += [f"{flag}=true" for flag in ("sparse", "ragged") if written.get(flag)]
    return f"Input({', '.join(args)})"


def tensor_arguments(call: Any, name_of: Any) -> list[str]:
    """A call's tensor arguments as written: `initial_state=(h, c)` and `mask=m` (`name_of` names a tensor)."""
    extra = []
    if call.states:
        states = [name_of(ref) for ref in call.states]
        extra.append(f"initial_state=({', '.join(states)}{',' if len(states) == 1 else ''})")
    if call.mask is not None:
        extra.append(f"mask={name_of(call.mask)}")
    return extra


def with_arguments(text: str, extra: list[str]) -> str:
    """`Layer(args)` with more arguments after its own."""
    if not extra:
        return text
    return text[:-1] + (", " if text[-2] != "(" else "") + ", ".join(extra) + ")"


def _call_text(node: LayerNode, call: Any, graph: Any, name_of: Any, fill: bool) -> str:
    """A layer as called: its own text (or its bound name) with the call's tensor arguments."""
    extra = tensor_arguments(call, name_of)
    if call.layer in graph.layer_bindings:
        name = graph.layer_bindings[call.layer]
        return f"{name}({', '.join(extra)})" if extra else name
    return with_arguments(_layer(node, fill), extra)
