"""`rnnspec graph`: draw a checked model as DOT, Mermaid or SVG (rnnspec.drawing; pure Python, no Graphviz)."""
from __future__ import annotations

import click

from rnnspec.cli import _fail, _one_model, _one_source, _out, _write, main
from rnnspec.errors import RnnspecError

SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg"}


@main.command()
@click.argument("file", required=False, type=click.Path())
@click.option("-e", "--expr", metavar="SPEC", help="A spec given on the command line.")
@click.option("--model", metavar="NAME", help="The model to draw (needed when the file has several).")
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid", "svg"]),
              help="dot (Graphviz), mermaid (a GitHub ```mermaid block) or svg; default: from -o's suffix.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
def graph(file: str | None, expr: str | None, model: str | None, fmt: str | None, output: str | None) -> None:
    """Draw a model: a node per layer call (type, name, output shape, parameters), edges labelled with shapes.

    A model with errors is not drawn: its errors are printed as `check` prints them (exit 1)."""
    if fmt is None:
        suffix = "." + output.rsplit(".", 1)[-1].lower() if output and "." in output else ""
        fmt = SUFFIXES.get(suffix)
        if fmt is None:
            raise click.UsageError("give --format dot, mermaid or svg (or -o a path ending in .dot, .mmd or .svg)")
    result = _one_source(file, expr)
    report = _one_model(result, model)
    from rnnspec.drawing import render

    text = render(report, fmt)
    if output is None:
        _write(text, end="")
        return
    try:
        with open(output, "w", encoding="utf-8", newline="\n") as target:
            target.write(text)
    except OSError as err:
        _fail(RnnspecError("E500", f"cannot write {output}: {err.strerror or err}"))
    _out(f"saved the {fmt} graph of {report.name} to {output}")
