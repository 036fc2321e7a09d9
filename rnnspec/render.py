"""Reports as people and programs read them: compiler-style errors, the Keras summary table, JSON."""
from __future__ import annotations

import re
from typing import Any, Sequence

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport, format_output
from rnnspec.shape import summary_shape

JSON_SCHEMA_VERSION = 2  # 2: functional models (inputs, outputs, each layer's inbound tensors and outputs)


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


def summary_table(report: ModelReport) -> str:
    """The table Keras users know from `model.summary()`, with Keras's words for the totals; a functional model
    has Keras's functional table (its InputLayer rows, the mask operations it lists, "Connected to")."""
    header: tuple[str, ...] = ("Layer (type)", "Output Shape", "Param #")
    body: list[tuple[str, ...]]
    if report.functional is not None:
        if report.connected:
            header += ("Connected to",)
        body = [(f"{r.name} ({r.type})", r.output, f"{r.params:,}", r.connected)[:len(header)] for r in report.table]
    else:
        body = [(f"{r.name} ({r.type})", summary_shape(r.output_shape), f"{r.params:,}") for r in report.rows]
    for fold in sorted(report.folds, key=lambda f: -f.first):  # from the end, so earlier positions stay valid
        where = f"line {fold.span.line}, column {fold.span.column}"
        body.insert(fold.first, (f"... {fold.copies:,} more copies (repeat at {where})", summary_shape(
            report.rows[fold.end - 1].output_shape), f"{fold.trainable + fold.non_trainable:,}"))
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    widths = [max(width, least) for width, least in zip(widths, (31, 22, 13, 17))]
    align = ("<", "<", ">", "<")

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
    return "\n".join(out)


def report_json(report: ModelReport) -> dict[str, Any]:
    return {
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


def _json_shape(shape: object) -> object:
    """A shape as a list; several outputs' shapes as a list of lists."""
    if shape is None:
        return None
    return [list(s) for s in shape] if shape and isinstance(shape[0], tuple) else list(shape)  # type: ignore


def _chain_inputs(report: ModelReport) -> list[dict[str, Any]]:
    if report.input is None:
        return []
    return [{"name": None, "shape": list(report.input.shape), "dtype": report.input.dtype}]
