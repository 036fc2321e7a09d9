"""The drawing as Graphviz DOT: quoted, escaped strings everywhere; folded repeats as dashed clusters; a shared
layer's calls double-bordered and joined by a dashed, undirected `same weights` edge that does not rank them."""
from __future__ import annotations

from rnnspec.drawing.model import Drawing, nested

SHAPE = {"input": "box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\"", "layer": "box",
         "output": "box, style=\"rounded,filled\", fillcolor=\"#e6f4ea\""}
EDGE = {"data": "", "state": ", color=\"#1a73e8\", fontcolor=\"#1a73e8\"",
        "mask": ", style=dashed, color=\"#9334e6\", fontcolor=\"#9334e6\"",
        "weights": ", style=dashed, dir=none, constraint=false, color=\"#d93025\", fontcolor=\"#d93025\""}


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped (so `\\n` in a name is not a line break)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(drawing: Drawing) -> str:
    out = [f"digraph {quote(drawing.name)} {{", "  rankdir=TB;",
           '  node [fontname="monospace", fontsize=11];', '  edge [fontname="monospace", fontsize=10];']
    members: dict[str | None, list[str]] = {}
    for node in drawing.nodes:
        label = "\\n".join(quote(line)[1:-1] for line in (node.title, *node.lines))
        extra = ", peripheries=2, color=\"#d93025\"" if node.shared else ""
        members.setdefault(node.group, []).append(f'{node.id} [shape={SHAPE[node.kind]}, label="{label}"{extra}];')
    out += nested(drawing, members, "  ", lambda group: [
        f"subgraph cluster_{group.id} {{",
        f"  label={quote(group.label)}; style=\"dashed,rounded\"; color=\"#b06000\"; fontcolor=\"#b06000\";"], "}")
    for edge in drawing.edges:
        out.append(f"  {edge.source} -> {edge.target} [label={quote(edge.label)}{EDGE[edge.kind]}];")
    out.append("}")
    return "\n".join(out) + "\n"
