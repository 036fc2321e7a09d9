"""`rnnspec graph`: a checked model drawn as DOT, Mermaid or SVG, in pure Python (no Graphviz, no NumPy).

A report becomes a small `Drawing` (rnnspec.drawing.model): one node per layer call, edges labelled with the
tensors' shapes, folded repeats as one node (or one group) with their count. Each format renders that Drawing.
"""
from __future__ import annotations

from rnnspec.drawing.build import drawing_of
from rnnspec.drawing.model import Drawing, Edge, Group, Node
from rnnspec.infer import ModelReport
from rnnspec.parser import cyclic_gc_paused

FORMATS = ("dot", "mermaid", "svg")


def render(report: ModelReport, fmt: str) -> str:
    """The text of `report`'s drawing in `fmt` (one of FORMATS); the report must be ok (no errors)."""
    with cyclic_gc_paused():  # the drawing's many small objects hold no cycles: a GC pass per 700 is waste
        return _render(drawing_of(report), fmt)


def _render(drawing: Drawing, fmt: str) -> str:
    if fmt == "dot":
        from rnnspec.drawing.dot import dot

        return dot(drawing)
    if fmt == "mermaid":
        from rnnspec.drawing.mermaid import mermaid

        return mermaid(drawing)
    if fmt == "svg":
        from rnnspec.drawing.svg import svg

        return svg(drawing)
    raise ValueError(f"unknown format {fmt!r}")


__all__ = ["FORMATS", "Drawing", "Edge", "Group", "Node", "drawing_of", "render"]
