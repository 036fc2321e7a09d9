"""Models written back as spec text from their resolved arguments: for `rnnspec check --fill` (every default
made explicit, so a reviewer sees what the short form means) and for saving a model whose source is unknown."""
from __future__ import annotations

import math
import re
from typing import Any

from rnnspec.graph import Item
from rnnspec.infer import ModelReport
from rnnspec.layers.base import LayerNode


def spec_text(report: ModelReport, fill: bool = False) -> str:
    """A spec that re-creates this model exactly (same layers, arguments, names and weights), written from
    the resolved arguments: `model NAME:` then one layer or repeat per line (a repeat stays a repeat, so the text
    stays as short as the spec); only the arguments that differ from their default, or with `fill` every one."""
    parts = []
    graph = report.graph
    if report.input is not None and (graph is None or graph.input is not None):
        shape, dtype = report.input
        args = [_value(d) for d in shape[1:]]
        if dtype != "float32":
            args.append(f"dtype={dtype}")
        if shape[0] is not None:
            args.append(f"batch_size={shape[0]}")
        parts.append(f"Input({', '.join(args)})")
    if graph is not None:  # repeats written as repeats: `x9999` stays short, and within the size limit
        parts += [_item(item, fill) for item in graph.layers]
    else:
        parts += [_layer(row.node, fill) for row in report.rows]
    return f"model {report.name}:\n    " + "\n    > ".join(parts) + "\n"


def _item(item: Item, fill: bool) -> str:
    if isinstance(item, LayerNode):
        return _layer(item, fill)
    body = " > ".join(_item(inner, fill) for inner in item.body)
    alone = len(item.body) == 1 and isinstance(item.body[0], LayerNode)  # `(A x2) x3`: one repeat per stage
    return f"{body if alone else f'({body})'} x{item.count}"


def _layer(node: LayerNode, fill: bool = False) -> str:
    args = []
    for param in node.kind.params:
        if param.name not in node.args:
            continue
        value = node.args[param.name]
        default = param.default
        if not fill and not param.required and type(value) is type(default) and value == default:
            continue
        if param.required and param.positional:
            args.append(_value(value, fill))
        else:
            args.append(f"{param.name}={_value(value, fill)}")
    return f"{node.type_name}({', '.join(args)})"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = {"None", "none", "null", "true", "True", "false", "False", "model", "expect"}


def _value(value: Any, fill: bool = False) -> str:
    if isinstance(value, LayerNode):
        return _layer(value, fill)
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
