"""The drawing as a Mermaid flowchart, to paste into a ```mermaid block on GitHub: every label in `["..."]` or
`|"..."|`, with the characters Mermaid or its HTML labels act on written as entity codes (`#quot;`)."""
from __future__ import annotations

from rnnspec.drawing.model import Drawing, nested

# `#` first: the codes written for the others start with it
ENTITIES = (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("&", "#amp;"), ("|", "#124;"),
            ("`", "#96;"))
ARROW = {"data": "-->", "state": "==>", "mask": "-.->", "weights": "-.-"}


def text(label: str) -> str:
    for plain, code in ENTITIES:
        label = label.replace(plain, code)
    return label


def mermaid(drawing: Drawing) -> str:
    out = [f"%% rnnspec graph of model {text(drawing.name)}", "flowchart TB"]
    members: dict[str | None, list[str]] = {}
    for node in drawing.nodes:
        label = "<br/>".join(text(line) for line in (node.title, *node.lines))
        cls = ":::shared" if node.shared else f":::{node.kind}"
        open_, close = ("([", "])") if node.kind != "layer" else ("[", "]")
        members.setdefault(node.group, []).append(f'{node.id}{open_}"{label}"{close}{cls}')
    out += nested(drawing, members, "    ", lambda group: [f'subgraph {group.id} ["{text(group.label)}"]'], "end")
    for edge in drawing.edges:
        label = f'|"{text(edge.label)}"|' if edge.label else ""
        out.append(f"    {edge.source} {ARROW[edge.kind]}{label} {edge.target}")
    out += ["    classDef layer fill:#ffffff", "    classDef input fill:#e8f0fe", "    classDef output fill:#e6f4ea",
            "    classDef shared stroke:#d93025,stroke-width:2px,stroke-dasharray:5 2"]
    return "\n".join(out) + "\n"
