"""A layered layout in one pass over nodes and edges (no crossing minimisation): each node's layer is its longest
path from an input, nodes of a layer are ordered by where their inputs are (barycentre) and packed left to right,
so a chain is a straight column. Boxes are sized from their text with a fixed-width estimate."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rnnspec.drawing.model import Drawing, Node

CHAR = 7.3  # px per character of 12 px monospace (wide East Asian characters count twice)
LINE = 16  # px per line of text
PAD_X, PAD_Y = 10, 8  # inside a box
GAP_X, GAP_Y = 28, 64  # between boxes side by side, between layers (room for an edge label)
FRAME = 10  # a group's frame around its boxes (each nesting level adds one)
MARGIN = 20


@dataclass
class Box:
    x: float  # left
    y: float  # top
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


@dataclass
class Layout:
    boxes: dict[str, Box]
    frames: dict[str, Box]  # group id -> its frame
    width: float
    height: float


def text_width(text: str) -> float:
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text) if not text.isascii() else 0
    return (len(text) + wide) * CHAR


def node_size(node: Node) -> tuple[float, float]:
    lines = (node.title, *node.lines)
    return max(text_width(line) for line in lines) + 2 * PAD_X, len(lines) * LINE + 2 * PAD_Y


def layout(drawing: Drawing) -> Layout:
    order = {node.id: index for index, node in enumerate(drawing.nodes)}
    inputs: dict[str, list[str]] = {node.id: [] for node in drawing.nodes}
    for edge in drawing.edges:
        if edge.kind != "weights" and order[edge.source] < order[edge.target]:
            inputs[edge.target].append(edge.source)
    level: dict[str, int] = {}
    layers: list[list[Node]] = []
    for node in drawing.nodes:  # topological order: every input is placed before
        depth = max((level[source] + 1 for source in inputs[node.id]), default=0)
        level[node.id] = depth
        while len(layers) <= depth:
            layers.append([])
        layers[depth].append(node)
    boxes: dict[str, Box] = {}
    y = float(MARGIN)
    for nodes in layers:
        sized = [(node, *node_size(node)) for node in nodes]
        wanted = []
        for node, w, h in sized:
            sources = inputs[node.id]
            centre = sum(boxes[s].cx for s in sources) / len(sources) if sources else 0.0
            wanted.append((centre, order[node.id], node, w, h))
        wanted.sort(key=lambda item: (item[0], item[1]))
        right = -float("inf")
        for centre, _, node, w, h in wanted:
            x = max(centre - w / 2, right + GAP_X)
            boxes[node.id] = Box(x, y, w, h)
            right = x + w
        y += max(h for _, _, h in sized) + GAP_Y
    frames = _frames(drawing, boxes)
    left = min([b.x for b in boxes.values()] + [f.x for f in frames.values()], default=0.0)
    shift = MARGIN - left
    for box in [*boxes.values(), *frames.values()]:
        box.x += shift
    width = max([b.right for b in boxes.values()] + [f.right for f in frames.values()], default=0.0) + MARGIN
    return Layout(boxes, frames, width, y - GAP_Y + MARGIN)


def _frames(drawing: Drawing, boxes: dict[str, Box]) -> dict[str, Box]:
    """Each group's frame: around its nodes and the frames of the groups inside it (inner groups come later in
    `drawing.groups`, so the list is walked backwards)."""
    parent = {group.id: group.parent for group in drawing.groups}
    spans: dict[str, list[float]] = {}

    def extend(group: str | None, x0: float, y0: float, x1: float, y1: float) -> None:
        if group is None:
            return
        old = spans.get(group)
        spans[group] = [x0, y0, x1, y1] if old is None else \
            [min(old[0], x0), min(old[1], y0), max(old[2], x1), max(old[3], y1)]

    for node in drawing.nodes:
        if node.group is not None:
            box = boxes[node.id]
            extend(node.group, box.x - FRAME, box.y - FRAME, box.right + FRAME, box.bottom + FRAME)
    frames: dict[str, Box] = {}
    for group in reversed(drawing.groups):
        if group.id not in spans:
            continue
        x0, y0, x1, y1 = spans[group.id]
        frames[group.id] = Box(x0, y0, x1 - x0, y1 - y0)
        extend(parent[group.id], x0 - FRAME, y0 - FRAME, x1 + FRAME, y1 + FRAME)
    return frames
