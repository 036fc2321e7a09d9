"""The drawing as a standalone SVG (rnnspec's own layout, no Graphviz): boxes, curved edges with arrowheads,
edge labels on a white halo above their arrowheads, dashed frames for folded repeats, shared calls in red dashed
boxes. Every piece of text is XML-escaped (labels come from specs and may hold <, & or quotes)."""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from rnnspec.drawing.layout import LINE, MARGIN, PAD_X, PAD_Y, Box, layout, text_width
from rnnspec.drawing.model import Drawing, Edge

FILL = {"input": "#e8f0fe", "layer": "#ffffff", "output": "#e6f4ea"}
STROKE = {"data": "#444", "state": "#1a73e8", "mask": "#9334e6", "weights": "#d93025"}
STYLE = """
text { font-family: ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace; font-size: 12px; fill: #202124; }
.title { font-weight: bold; }
.label { font-size: 11px; fill: #3c4043; stroke: #fff; stroke-width: 3px; paint-order: stroke; }
.frame { fill: #fef7e0; fill-opacity: 0.5; stroke: #b06000; stroke-dasharray: 6 3; }
.count { font-weight: bold; fill: #b06000; stroke: #fff; stroke-width: 4px; paint-order: stroke; }
.node rect { stroke: #5f6368; }
.shared rect { stroke: #d93025; stroke-width: 2px; stroke-dasharray: 5 2; }
"""


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def svg(drawing: Drawing) -> str:
    placed = layout(drawing)
    boxes = placed.boxes
    ports = _ports(drawing, boxes)
    width = max([placed.width] + [end[0] + 5 + text_width(edge.label) + MARGIN for edge, _, end, _ in ports])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(placed.height)}" '
           f'viewBox="0 0 {_f(width)} {_f(placed.height)}" role="img">',
           f"<title>{escape(drawing.name)}</title>", f"<style>{STYLE}</style>", "<defs>"]
    for kind, colour in STROKE.items():
        out.append(f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
                   f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
                   "</marker>")
    out.append("</defs>")
    labels = {group.id: group.label for group in drawing.groups}
    edge_labels = []  # drawn last, so that no box or edge hides them
    for group_id, frame in placed.frames.items():  # the count on the frame's bottom border, clear of edge labels
        out.append(f'<rect class="frame" id={quoteattr(group_id)} x="{_f(frame.x)}" y="{_f(frame.y)}" '
                   f'width="{_f(frame.w)}" height="{_f(frame.h)}" rx="8"/>')
        edge_labels.append(f'<text class="count" x="{_f(frame.right - 8)}" y="{_f(frame.bottom + 4)}" '
                           f'text-anchor="end">{escape(labels[group_id])}</text>')
    for edge, (x1, y1), (x2, y2), row in ports:
        bend = max((y2 - y1) / 2, 20)
        colour = STROKE[edge.kind]
        dash = ' stroke-dasharray="5 4"' if edge.kind == "mask" else ""
        out.append(f'<path class="edge {edge.kind}" d="M{_f(x1)},{_f(y1)} C{_f(x1)},{_f(y1 + bend)} {_f(x2)},'
                   f'{_f(y2 - bend)} {_f(x2)},{_f(y2)}" fill="none" stroke="{colour}" stroke-width="1.3"{dash} '
                   f'marker-end="url(#arrow-{edge.kind})"/>')
        if edge.label:  # above the arrowhead; a merge's labels stacked, the rightmost lowest
            edge_labels.append(f'<text class="label" x="{_f(x2 + 5)}" y="{_f(y2 - 8 - 13 * row)}">'
                               f"{escape(edge.label)}</text>")
    for node in drawing.nodes:
        box = boxes[node.id]
        classes = "node shared" if node.shared else "node"
        out.append(f'<g class="{classes} {node.kind}" id={quoteattr(node.id)}><rect x="{_f(box.x)}" '
                   f'y="{_f(box.y)}" width="{_f(box.w)}" height="{_f(box.h)}" rx="{14 if node.kind != "layer" else 4}"'
                   f' fill="{FILL[node.kind]}"/>')
        for number, line in enumerate((node.title, *node.lines)):
            cls = ' class="title"' if number == 0 else ""
            out.append(f'<text{cls} x="{_f(box.x + PAD_X)}" y="{_f(box.y + PAD_Y + (number + 1) * LINE - 4)}">'
                       f"{escape(line)}</text>")
        out.append("</g>")
    out.extend(edge_labels)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _ports(drawing: Drawing, boxes: dict[str, Box]) -> list[tuple[Edge, tuple[float, float], tuple[float, float],
                                                                  int]]:
    """Each edge's start and end, spread along the bottom of its source and the top of its target in the order of
    their other ends (a merge's inputs arrive side by side), and the row of its label above the target. A shared
    layer's `weights` links are not drawn: its calls are marked on their boxes (the DOT and Mermaid have them)."""
    outgoing: dict[str, list[int]] = {}
    incoming: dict[str, list[int]] = {}
    edges = drawing.edges
    for index, edge in enumerate(edges):
        if edge.kind != "weights":
            outgoing.setdefault(edge.source, []).append(index)
            incoming.setdefault(edge.target, []).append(index)
    start: dict[int, tuple[float, float]] = {}
    end: dict[int, tuple[float, float, int]] = {}
    for node, indices in outgoing.items():
        box = boxes[node]
        indices.sort(key=lambda i: boxes[edges[i].target].cx)
        for rank, index in enumerate(indices, 1):
            start[index] = (box.x + box.w * rank / (len(indices) + 1), box.bottom)
    for node, indices in incoming.items():
        box = boxes[node]
        indices.sort(key=lambda i: boxes[edges[i].source].cx)
        for rank, index in enumerate(indices, 1):
            end[index] = (box.x + box.w * rank / (len(indices) + 1), box.y, len(indices) - rank)
    return [(edges[i], start[i], end[i][:2], end[i][2]) for i in sorted(start)]


