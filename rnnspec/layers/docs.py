"""Layer documentation generated from the registry, so `rnnspec layers` and docs/layers.md cannot drift."""
from __future__ import annotations

from typing import Iterable

from rnnspec.errors import RnnspecError
from rnnspec.layers.base import LayerType, Param, registry, suggest


def signature(kind: LayerType) -> str:
    parts = []
    for p in kind.params:
        if kind.varargs == p.name:
            parts.append(f"*{p.name}")
        elif p.required:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={p.type.show(p.default)}")
    return f"{kind.name}({', '.join(parts)})"


def _param_line(kind: LayerType, p: Param) -> str:
    default = "required" if p.required else f"default {p.type.show(p.default)}"
    where = "positional or keyword" if p.positional else "keyword"
    if kind.varargs == p.name:
        where = "positional, one per dimension"
    note = f"; {p.doc}" if p.doc else ""
    return f"    {p.name}: {p.type.description}, {default} ({where}){note}"


def describe(kind: LayerType) -> str:
    lines = [signature(kind)]
    doc = (type(kind).__doc__ or "").strip().splitlines()
    if doc:
        lines.append(f"  {doc[0]}")
    lines += [_param_line(kind, p) for p in kind.params]
    flags = {alias: target for alias, (target, _) in kind.flags.items()}
    if flags:
        lines.append("    flags: " + ", ".join(f"{a} ({t}=true)" for a, t in flags.items()))
    # a layer of several tensors takes `mask` from them (the list of their masks), never as `mask=`
    named = [name for name in kind.call_arguments if not (kind.takes_several and name == "mask")]
    if named:
        lines.append("    called with (functional form, tensors by name): " + ", ".join(f"{name}=" for name in named))
    if kind.takes_several:
        lines.append("    called on a tuple of tensors: (a, b) > " + kind.name
                     + ("; it receives their masks" if "mask" in kind.call_arguments else ""))
    return "\n".join(lines)


def describe_layers(names: Iterable[str] = ()) -> str:
    table = registry()
    chosen = list(names) or sorted(table, key=lambda n: (table[n].family, n))
    for name in chosen:
        if name not in table:
            raise RnnspecError("E200", f"unknown layer '{name}'", hint=suggest(name, table))
    return "\n\n".join(describe(table[n]) for n in chosen)


def markdown() -> str:
    """docs/layers.md: the registry as a reference page (regenerate with `python -m rnnspec.layers.docs`)."""
    table = registry()
    out = ["# Layers", "",
           "Generated from the layer registry by `python -m rnnspec.layers.docs > docs/layers.md`; a test keeps",
           "this page in sync. Arguments have Keras's names and defaults; a boolean argument can be switched on",
           "by writing its name alone (`Embedding(1000, 16, mask_zero)`), and recurrent layers take the flags",
           "`seq` (return_sequences), `state` (return_state) and `backwards` (go_backwards).", ""]
    for family in sorted({k.family for k in table.values()}):
        out += [f"## {family.capitalize()}", ""]
        for name in sorted(n for n, k in table.items() if k.family == family):
            out += ["```", describe(table[name]), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
