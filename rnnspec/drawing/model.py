"""The drawable graph every format renders: nodes (a layer call, an input, an output), edges between them, and
groups (a folded repeat of several layers). Text here is already safe to show: control characters escaped."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from rnnspec.render import printable

# Characters XML 1.0 cannot hold at all (lone surrogates, U+FFFE/U+FFFF), beyond the controls `printable`
# already escapes: a name in a spec must not make the SVG unreadable.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def shown(text: str) -> str:
    """`text` as a label may hold it: controls and invisible marks escaped (`\\x1b`), nothing XML refuses."""
    text = printable(text)
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _NOT_XML.search(text) else text


NODE_KINDS = ("input", "layer", "output")
EDGE_KINDS = ("data", "state", "mask", "weights")  # weights: the calls of one shared layer (no direction)


@dataclass
class Node:
    """A box: `title` (type, name, ×count), then `lines` (output shape(s), parameters)."""

    id: str
    title: str
    lines: tuple[str, ...]
    kind: str = "layer"
    shared: bool = False  # one call of a layer called several times (same weights)
    group: str | None = None  # the innermost folded repeat it belongs to
    layers: int = 1  # layers of the model it stands for (a folded repeat: all its copies)
    params: int = 0  # parameters it adds to the model's total (0 for a shared layer's later calls)


@dataclass
class Edge:
    source: str
    target: str
    label: str
    kind: str = "data"


@dataclass
class Group:
    """A folded repeat of several layers, drawn once inside a frame labelled with its count (`×3`)."""

    id: str
    label: str
    parent: str | None = None


@dataclass
class Drawing:
    name: str
    nodes: list[Node] = field(default_factory=list)  # in topological order: every edge but `weights` goes forward
    edges: list[Edge] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def node(self, title: str, lines: tuple[str, ...] | list[str] = (), **fields: object) -> str:
        node_id = f"n{len(self.nodes)}"
        self.nodes.append(Node(node_id, shown(title), tuple(shown(line) for line in lines), **fields))  # type: ignore
        return node_id

    def edge(self, source: str, target: str, label: str, kind: str = "data") -> None:
        self.edges.append(Edge(source, target, shown(label), kind))

    def group(self, label: str, parent: str | None) -> str:
        group_id = f"g{len(self.groups)}"
        self.groups.append(Group(group_id, shown(label), parent))
        return group_id


def nested(drawing: Drawing, members: dict[str | None, list[str]], indent: str,
           opening: Callable[[Group], list[str]], closing: str) -> list[str]:
    """Each group's member lines between its `opening` and `closing` lines, nested as the repeats nest and
    indented by `indent` a level (the text formats' shared walk). Iterative: repeats may nest deep."""
    children: dict[str | None, list[Group]] = {}
    for group in drawing.groups:
        children.setdefault(group.parent, []).append(group)
    out: list[str] = []
    stack: list[tuple[Group | None, int, bool]] = [(None, 1, False)]  # (group, depth, closing)
    while stack:
        group, depth, closes = stack.pop()
        outer = indent * (depth - 1)
        if closes:
            out.append(outer + closing)
            continue
        if group is not None:
            out.extend(outer + line for line in opening(group))
            stack.append((group, depth, True))
        out.extend(indent * depth + line for line in members.get(group.id if group else None, []))
        for child in reversed(children.get(group.id if group else None, [])):
            stack.append((child, depth + 1, False))
    return out
