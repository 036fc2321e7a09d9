"""Reports as people and programs read them: compiler-style errors, the Keras summary table, JSON."""
from __future__ import annotations

import re
from typing import Any, Sequence

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport, format_output
from rnnspec.shape import summary_shape

JSON_SCHEMA_VERSION = 3  # 2: functional models (inputs, outputs, each layer's inbound tensors and outputs)
# 3: costs (`cost` per layer and per model: MACs, FLOPs, output elements and bytes, as coefficients of T)


def readable_bytes(size: float) -> str:
    """Keras's `readable_memory_size`: 1024-based units with two decimals (`1.23 MB`)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


# Characters a terminal acts on instead of showing: C0 and C1 controls (ANSI escapes start with ESC), DEL, and
# the invisible bidirectional and zero-width marks that make text read differently from what it is.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """`text` with every control character written as an escape (`\\x1b`), so a spec cannot drive the terminal."""
    return _UNPRINTABLE.sub(_escaped, text) if _UNPRINTABLE.search(text) else text


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def source_lines(source: str) -> list[str]:
    """A source's lines as the parser counts them (only `\\n` ends a line), split once for all its errors."""
    return source.split("\n")


def format_error(error: RnnspecError, lines: Sequence[str] | None, color: bool = False) -> str:
    """`path:line:col: error[CODE]: message`, the source line (`lines` from `source_lines`), a caret under the
    span, and the hint; everything taken from the input is escaped with `printable`."""
    red, cyan, bold, reset = ("\033[31m", "\033[36m", "\033[1m", "\033[0m") if color else ("",) * 4
    if error.severity == "warning":
        red = "\033[33m" if color else ""
    span = error.span
    head = f"{bold}{printable(span.path)}:{span.line}:{span.column}:{reset} " if span else ""
    out = [f"{head}{red}{error.severity}[{error.code}]{reset}{bold}: {printable(error.message)}{reset}"]
    if span and lines is not None and 0 < span.line <= len(lines):
        text = lines[span.line - 1].rstrip("\r").replace("\t", " ")
        width = (span.end_column - span.column) if span.end_line == span.line else len(text) - span.column + 1
        text, column = _window(text, span.column)
        width = min(width, len(text) - column + 1)
        before, marked = printable(text[:column - 1]), printable(text[column - 1:column - 1 + max(width, 0)])
        gutter = f"{span.line:>4} | "
        out.append(f"{gutter}{before}{marked}{printable(text[column - 1 + max(width, 0):])}")
        out.append(" " * (len(gutter) + len(before)) + red + "^" * max(len(marked), 1) + reset)
    if error.hint:
        out.append(f"{cyan}  hint:{reset} {printable(error.hint)}")
    return "\n".join(out)


SHOWN_LINE = 100  # characters of a source line shown under an error; a longer line is cut around the span


def _window(text: str, column: int) -> tuple[str, int]:
    """The part of a long line around `column` (marked with ... where cut), and the column within it."""
    if len(text) <= SHOWN_LINE:
        return text, column
    start = max(0, min(column - 1 - SHOWN_LINE // 3, len(text) - SHOWN_LINE))
    head, tail = ("..." if start else ""), ("..." if start + SHOWN_LINE < len(text) else "")
    return head + text[start:start + SHOWN_LINE] + tail, column - start + len(head)


def _escape(text: str, property_value: bool = False) -> str:
    """GitHub workflow-command escaping (`%`, newlines; in properties also `:` and `,`)."""
    text = printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def github_annotation(error: RnnspecError, path: str) -> str:
    """`::error file=...,line=...,col=...::message` for GitHub Actions, hint appended to the message."""
    span = error.span
    props = [f"file={_escape(span.path if span else path, True)}"]
    if span is not None:
        props += [f"line={span.line}", f"col={span.column}", f"endLine={span.end_line}",
                  f"endColumn={span.end_column}"]
    props.append(f"title={_escape(f'rnnspec {error.code}', True)}")
    message = error.message + (f" (hint: {error.hint})" if error.hint else "")
    return f"::{error.severity} {','.join(props)}::{_escape(message)}"


def pass_line(report: ModelReport) -> str:
    """`path:line: ok NAME  output (None, 32)  322,080 params`: one line per passing model."""
    shape = format_output(report.output)
    where = f"{printable(report.span.path)}:{report.span.line}"
    return f"{where}: ok {report.name}  output {shape}  {report.total:,} params"


def summary_table(report: ModelReport, cost: bool = False, length: int | None = None) -> str:
    """The table Keras users know from `model.summary()`, with Keras's words for the totals; a functional model
    has Keras's functional table (its InputLayer rows, the mask operations it lists, "Connected to"). `cost` adds
    each layer's MACs, FLOPs and output elements per sample (rnnspec.cost), in T or at T=`length`."""
    header: tuple[str, ...] = ("Layer (type)", "Output Shape", "Param #")
    body: list[tuple[str, ...]]
    row_of: list[int | None]  # per body row, the report row it shows (None: a mask operation)
    if report.functional is not None:
        if report.connected:
            header += ("Connected to",)
        index = {r.name: i for i, r in enumerate(report.rows)}
        body = [(f"{r.name} ({r.type})", r.output, f"{r.params:,}", r.connected)[:len(header)] for r in report.table]
        row_of = [index.get(r.name) if r.type != "InputLayer" or r.name in index else None for r in report.table]
    else:
        body = [(f"{r.name} ({r.type})", summary_shape(r.output_shape), f"{r.params:,}") for r in report.rows]
        row_of = list(range(len(report.rows)))
    computed = _computed_costs(report, length) if cost else None
    figures = None if computed is None else _cost_cells(report, computed)
    if figures is not None:
        cells_of, _ = figures
        header += ("MACs", "FLOPs", "Output elements")
        body = [row + (cells_of[i] if i is not None else ("-", "-", "-")) for row, i in zip(body, row_of)]
    # from the end, so earlier positions stay valid
    for number, fold in sorted(enumerate(report.folds), key=lambda item: -item[1].first):
        where = f"line {fold.span.line}, column {fold.span.column}"
        row = (f"... {fold.copies:,} more copies (repeat at {where})", summary_shape(
            report.rows[fold.end - 1].output_shape), f"{fold.trainable + fold.non_trainable:,}")
        if figures is not None:
            row += figures[1][number]
        body.insert(fold.first, row)
    least = (31, 22, 13, 17) if report.connected or figures is None else (31, 22, 13)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    widths = [max(width, floor) for width, floor in zip(widths, (*least, 0, 0, 0, 0))]
    align = ("<", "<", ">") + (("<",) if len(header) in (4, 7) else ()) + (">",) * 3

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def cells(row: tuple[str, ...], bar: str) -> str:
        return bar + bar.join(f" {text:{a}{w}} " for text, a, w in zip(row, align, widths)) + bar

    out = [f'Model: "{report.name}"', line("┏", "┳", "┓", "━"), cells(header, "┃"), line("┡", "╇", "┩", "━")]
    for i, row in enumerate(body):
        out.append(cells(row, "│"))
        out.append(line("├", "┼", "┤", "─") if i < len(body) - 1 else line("└", "┴", "┘", "─"))
    if not body:
        out.append(line("└", "┴", "┘", "─"))
    for label, count in (("Total params", report.total), ("Trainable params", report.trainable),
                         ("Non-trainable params", report.non_trainable)):
        out.append(f" {label}: {count:,} ({readable_bytes(count * 4)})")
    if cost:
        out += _cost_totals(report, computed, length)
    return "\n".join(out)


def _inferred(report: ModelReport) -> bool:
    """Whether the layers inferred, so that their costs can be counted (a failed assertion does not matter)."""
    return bool(report.rows) and not (report.functional is not None and report.network is None)


def _computed_costs(report: ModelReport, length: int | None) -> Any:
    """rnnspec.cost's figures for the summary: (per row, total) at T=`length`, or the model's ModelCost in T;
    None where the model did not infer."""
    if not _inferred(report):
        return None
    from rnnspec.cost import cost_at, model_cost

    return cost_at(report, length) if length is not None else model_cost(report)


def _cost_cells(report: ModelReport, computed: Any) -> tuple[list[tuple[str, str, str]], list[tuple]]:
    """Per report row its (MACs, FLOPs, output elements) cells, and per fold the cells of its uncounted copies:
    formulas in T, or numbers at a length; `?` where a figure is no formula in T."""
    from rnnspec.cost import Figure, ModelCost

    if not isinstance(computed, ModelCost):  # (per row, total) at a length
        costs, _ = computed
        rows = [("?", "?", "?") if c is None else (f"{c.macs:,}", f"{c.flops:,}", f"{c.elements:,}") for c in costs]
        folds = []
        for fold in report.folds:
            part = costs[fold.first:fold.end]
            folds.append(("?",) * 3 if any(c is None for c in part) else tuple(
                f"{fold.copies * sum(c[k] for c in part):,}" for k in range(3)))  # type: ignore[index]
        return rows, folds
    figures = computed.rows
    rows = [(f.macs.text(), f.flops.text(), f.elements.text()) for f in figures]
    folds = []
    for fold in report.folds:
        part = figures[fold.first:fold.end]
        folds.append(tuple(Figure.total([getattr(f, k) for f in part]).scaled(fold.copies).text()
                           for k in ("macs", "flops", "elements")))
    return rows, folds


def _cost_totals(report: ModelReport, computed: Any, length: int | None) -> list[str]:
    """The model's MACs, FLOPs and activation memory per sample, under the parameter totals."""
    if computed is None:
        return [" Cost: not counted (the model did not infer)"]
    from rnnspec.cost import ModelCost, has_unknown_length

    where = f" at T={length:,}" if length is not None and has_unknown_length(report) else ""
    if not isinstance(computed, ModelCost):  # (per row, total) at a length
        total = computed[1]
        macs, flops, elements = (("?",) * 3 if total is None else (f"{total.macs:,}", f"{total.flops:,}",
                                                                   f"{total.elements:,}"))
        memory = "?" if total is None else readable_bytes(total.bytes)
        note = None if total is not None else "a shape stays unknown at that length"
    else:
        model = computed
        macs, flops, elements = model.total.macs.text(), model.total.flops.text(), model.total.elements.text()
        memory = model.total.bytes.text() + " bytes" if model.total.bytes.known else "?"
        if model.total.bytes.known and not model.length_dependent:
            memory = readable_bytes(model.total.bytes.at(0))  # type: ignore[arg-type]
        note = None
        if model.approximate and model.length_dependent:
            note = ("? = no formula in T (a stride or a pooling on an unknown length): give the length, "
                    "rnnspec summary --cost --at T=100")
        elif model.approximate:
            note = "? = a length the data decides (TextVectorization without output_sequence_length)"
        if model.length_dependent:
            note = "T: the length of every unknown dimension" + (f"; {note}" if note else "")
    out = [f" MACs per sample{where}: {macs}", f" FLOPs per sample{where}: {flops}",
           f" Activation memory per sample{where}: {elements} elements ({memory} at float32)"]
    if note:
        out.append(f" {note}")
    return out


def report_json(report: ModelReport, cost: bool = False) -> dict[str, Any]:
    """The report as JSON (docs/cli.md); with `cost`, each model's and layer's costs, which take about ten times
    the inference of an unknown-length model (they are fitted in T), so they are asked for."""
    costs = _costs(report) if cost else None
    data = {
        "name": report.name,
        "location": report.span.as_dict(),
        "status": "ok" if report.ok else "error",
        "input": None if report.input is None else {"shape": list(report.input.shape), "dtype": report.input.dtype},
        "output_shape": _json_shape(report.output),
        "inputs": [{"name": name, "shape": list(t.shape), "dtype": t.dtype} for name, t in report.inputs]
        if report.functional is not None else _chain_inputs(report),
        "output_shapes": [list(t.shape) for t in report.outputs] if report.functional is not None
        else ([] if report.output is None else [list(report.output)]),
        "total_params": report.total,
        "trainable_params": report.trainable,
        "non_trainable_params": report.non_trainable,
        "param_bytes": report.bytes,
        "layer_count": report.layer_count,
        "layers": [
            {
                "name": r.name,
                "type": r.type,
                "output_shape": list(r.output_shape),
                "output_shapes": [list(shape) for shape in r.outputs] or [list(r.output_shape)],
                "inbound": [[{"layer": t.layer, "node": t.node, "tensor": t.tensor} for t in call]
                            for call in r.inbound],
                "trainable_params": r.trainable,
                "non_trainable_params": r.non_trainable,
                "weights": [{"name": w.name, "shape": list(w.shape), "trainable": w.trainable} for w in r.weights],
                "location": r.span.as_dict(),
            }
            for r in report.rows
        ],
        "folds": [
            {
                "first_layer": f.first,
                "end_layer": f.end,
                "copies": f.copies,
                "layer_count": f.layers,
                "trainable_params": f.trainable,
                "non_trainable_params": f.non_trainable,
                "location": f.span.as_dict(),
            }
            for f in report.folds
        ],
        "errors": [e.as_dict() for e in report.errors],
        "warnings": [w.as_dict() for w in report.warnings],
    }
    if cost:
        data["cost"] = None if costs is None else {"symbol": "T", "depends_on_length": costs.length_dependent,
                                                   **_cost_json(costs.total)}
        for index, layer in enumerate(data["layers"]):  # type: ignore[arg-type]
            layer["cost"] = None if costs is None else _cost_json(costs.rows[index])
    return data


def _costs(report: ModelReport) -> Any:
    """rnnspec.cost's figures, where the layers inferred (an assertion may have failed): None otherwise."""
    if not _inferred(report) or any(not e.code.startswith("E4") for e in report.errors):
        return None
    from rnnspec.cost import model_cost

    return model_cost(report)


def _cost_json(figures: Any) -> dict[str, Any]:
    """Each figure as its coefficients by power of T (`[2080, 6144]` is 6,144·T + 2,080), or None where it is no
    polynomial in T (a stride on an unknown length): docs/cost.md."""
    def listed(figure: Any) -> Any:
        return None if figure.coefficients is None else list(figure.coefficients)

    return {"macs": listed(figures.macs), "flops": listed(figures.flops),
            "output_elements": listed(figures.elements), "output_bytes": listed(figures.bytes)}


def _json_shape(shape: object) -> object:
    """A shape as a list; several outputs' shapes as a list of lists."""
    if shape is None:
        return None
    return [list(s) for s in shape] if shape and isinstance(shape[0], tuple) else list(shape)  # type: ignore


def _chain_inputs(report: ModelReport) -> list[dict[str, Any]]:
    if report.input is None:
        return []
    return [{"name": None, "shape": list(report.input.shape), "dtype": report.input.dtype}]
