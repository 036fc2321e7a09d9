"""The `rnnspec` command: check, summary, compile, run, layers. Exit 0 ok, 1 a spec is wrong, 2 usage or I/O."""
from __future__ import annotations

if __name__ == "__main__":  # `python -m rnnspec.cli` runs as `python -m rnnspec` does (which guards sys.path)
    import runpy

    runpy.run_module("rnnspec", run_name="__main__", alter_sys=True)

import errno
import io
import json
import math
import os
import stat
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, NoReturn

import click

from rnnspec import api
from rnnspec.allow import WARNING_CODES, disallowed
from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport
from rnnspec.layers.base import suggest
from rnnspec.render import (
    JSON_SCHEMA_VERSION, format_error, github_annotation, pass_line, printable, report_json, source_lines,
    summary_table,
)
from rnnspec.shape import format_shape
from rnnspec.unparse import spec_text

EXIT_OK, EXIT_SPEC, EXIT_USAGE = 0, 1, 2
EXPR_PATH = "<expr>"
MAX_ERRORS = 100  # errors and warnings printed per source in text and github output (--max-errors)


@dataclass
class SourceResult:
    """One file or expression: its text and the reports of its models, or the error that kept it from being read."""

    path: str
    source: str | None = None
    reports: list[ModelReport] = field(default_factory=list)
    errors: list[RnnspecError] = field(default_factory=list)  # the source could not be read (E500, E104)
    io_error: bool = False

    @property
    def all_errors(self) -> list[RnnspecError]:
        return self.errors + [e for r in self.reports for e in r.errors]

    @property
    def all_warnings(self) -> list[RnnspecError]:
        return [w for r in self.reports for w in r.warnings]


def check_source(path: str, source: str, allow: frozenset[str] = frozenset()) -> SourceResult:
    """Every model of one text, as `rnnspec.check` sees them (a syntax error is its model's error)."""
    return SourceResult(path, source, api.check(source, path=path, allow=allow))


def read_spec(path: Path, allow: frozenset[str] = frozenset()) -> SourceResult:
    shown = str(path)
    try:
        source = api.read_spec_file(path)
    except RnnspecError as err:
        return SourceResult(shown, errors=[err], io_error=True)
    return check_source(shown, source, allow)


def _io_problem(path: str, message: str) -> SourceResult:
    return SourceResult(path, errors=[RnnspecError("E500", message)], io_error=True)


def spec_files(raw: str) -> Iterator[Path | SourceResult]:
    """What one PATH argument names: a file as given, or a directory's `*.rnn` files in sorted order, with a
    result for each directory that cannot be read. The walk keeps a stack instead of recursing (a tree of any
    depth) and does not enter a symlinked directory it finds (no loops; a directory named on the command line is
    followed); a symlinked file is checked as the file it points to."""
    try:
        is_dir = stat.S_ISDIR(os.stat(raw).st_mode)
    except FileNotFoundError:
        is_dir = False
        if not os.path.lexists(raw):
            yield _io_problem(raw, f"no such file or directory: {raw}")
            return
    except OSError as err:
        yield _io_problem(raw, f"cannot read {raw}: {err.strerror or err}")
        return
    if not is_dir:
        yield Path(raw)  # read_spec refuses what is not a regular file
        return
    stack: list[tuple[Path, bool]] = [(Path(raw), True)]
    found = unreadable = False
    while stack:
        path, is_directory = stack.pop()
        if not is_directory:
            found = True
            yield path
            continue
        try:
            with os.scandir(path) as entries:
                children = sorted((entry.name, _is_directory(entry)) for entry in entries)
        except OSError as err:
            unreadable = True
            yield _io_problem(str(path), f"cannot read directory {path}: {err.strerror or err}")
            continue
        stack.extend((path / name, directory) for name, directory in reversed(children)
                     if directory or name.endswith(".rnn"))
    if not found and not unreadable:
        yield _io_problem(raw, f"no .rnn files under {raw}")


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _results(paths: tuple[str, ...], exprs: tuple[str, ...], allow: frozenset[str]) -> Iterator[SourceResult]:
    """Each source checked in turn, so that its report can be printed and dropped before the next is read."""
    for raw in paths:
        for found in spec_files(raw):
            yield found if isinstance(found, SourceResult) else read_spec(found, allow)
    for expr in exprs:
        yield check_source(EXPR_PATH, expr, allow)


def _color() -> bool:
    return sys.stdout.isatty()


class _OutputError(Exception):
    """Standard output cannot be written (a full disk, a closed pipe): the command ends with exit 2."""


def _write(text: str, end: str = "\n") -> None:
    if sys.stdout is None:  # started with standard output closed
        raise _OutputError(OSError(errno.EBADF, "standard output is closed"))
    try:
        sys.stdout.write(text + end)
    except OSError as err:
        raise _OutputError(err) from None


def _out(text: str) -> None:
    """A line (or lines) of output, anything taken from the input escaped so that it cannot drive the terminal."""
    _write("\n".join(printable(line) for line in text.split("\n")))


def _show_error(error: RnnspecError, lines: list[str] | None = None) -> None:
    _write(format_error(error, lines, _color()))


def _show_errors(result: SourceResult, errors: list[RnnspecError]) -> None:
    lines = source_lines(result.source) if result.source is not None and errors else None
    for error in errors:
        _show_error(error, lines)


@dataclass
class _Tally:
    """What the closing line and the exit code need, kept while each source's reports are dropped."""

    sources: int = 0
    models: int = 0
    failed: int = 0
    errors: int = 0
    warnings: int = 0
    io_error: bool = False

    def add(self, result: SourceResult) -> None:
        self.sources += 1
        self.models += len(result.reports)
        self.failed += sum(not r.ok for r in result.reports)
        self.errors += len(result.all_errors)
        self.warnings += len(result.all_warnings)
        self.io_error = self.io_error or result.io_error

    def exit_code(self, strict: bool) -> int:
        if self.io_error:
            return EXIT_USAGE
        return EXIT_SPEC if self.errors or (strict and self.warnings) else EXIT_OK


def _allowed(ctx: click.Context, param: click.Parameter, codes: tuple[str, ...]) -> frozenset[str]:
    for code in codes:
        error = disallowed(code)
        if error is not None:
            raise click.BadParameter(f"{error.message}; {error.hint}")
    return frozenset(codes)


class _Command(click.Group):
    """The group, made safe to print from: unencodable characters escaped, a closed pipe ends quietly, and any
    other failure to write standard output (a full disk) is reported on standard error with exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(errors="backslashreplace")
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                if sys.stdout is not None:
                    sys.stdout.flush()
        except (_OutputError, OSError) as err:
            cause = err.args[0] if isinstance(err, _OutputError) else err
            _silence_stdout()
            if not isinstance(cause, BrokenPipeError) and sys.stderr is not None:
                sys.stderr.write(format_error(RnnspecError(
                    "E500", f"cannot write the output: {getattr(cause, 'strerror', None) or cause}"), None) + "\n")
            sys.exit(EXIT_USAGE)


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush cannot fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # closed, or not a real file (a test runner's buffer)
        pass


@click.group(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnspec")
def main() -> None:
    """rnnspec: check recurrent model specs (shapes and parameter counts with Keras parity) and compile them."""


def _no_empty_path(ctx: click.Context, param: click.Parameter, paths: tuple[str, ...]) -> tuple[str, ...]:
    if any(not path for path in paths):
        raise click.BadParameter("a path is empty; give '.' for the current directory")
    return paths


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(), callback=_no_empty_path)
@click.option("-e", "--expr", "exprs", multiple=True, metavar="SPEC", help="Check a spec given on the command line.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text for people, json for programs, github for workflow annotations.")
@click.option("--strict", is_flag=True, help="Fail on warnings too (legal but suspicious specs).")
@click.option("--fill", is_flag=True, help="Print each passing model with every default argument written out.")
@click.option("--allow", multiple=True, metavar="CODE", callback=_allowed,
              help=f"Do not report this warning ({', '.join(WARNING_CODES)}); repeatable.")
@click.option("--max-errors", type=click.IntRange(min=0), default=MAX_ERRORS, show_default=True, metavar="N",
              help="Errors and warnings printed per source in text and github output (0: all).")
@click.option("--update", is_flag=True, help="First rewrite each file's `expect` lines and shape notes from what is "
              "inferred (stale ones refreshed, missing shape and params added; docs/fmt.md).")
@click.option("--diff", is_flag=True, help="Show what --update would change as a unified diff, write nothing; exit 1 "
              "if anything would change.")
@click.option("--cost", is_flag=True, help="With --format json: each model's and layer's MACs, FLOPs and output size "
              "(docs/cost.md).")
def check(paths: tuple[str, ...], exprs: tuple[str, ...], fmt: str, strict: bool, fill: bool, allow: frozenset[str],
          max_errors: int, update: bool, diff: bool, cost: bool) -> None:
    """Check every model and assertion in PATHS (files, or directories searched for *.rnn)."""
    if not paths and not exprs:
        raise click.UsageError("give at least one PATH or -e 'SPEC'")
    if cost and fmt != "json":
        raise click.UsageError("--cost adds costs to --format json; `rnnspec summary --cost` prints them as a table")
    stale = unwritten = False
    if update or diff:
        if exprs:
            raise click.UsageError("--update and --diff rewrite files; an -e expression cannot be updated")
        if fmt == "json" or (update and diff):
            raise click.UsageError("--update and --diff go with --format text or github, one at a time")
        from rnnspec.cli_fmt import refresh_assertions

        stale, unwritten = refresh_assertions(paths, write=update)
        stale = stale and diff
    tally = _Tally()
    results = _results(paths, exprs, allow)
    if fmt == "json":
        _write(f'{{\n  "schema_version": {JSON_SCHEMA_VERSION},\n  "sources": [', end="")
        for index, result in enumerate(results):  # each source written as soon as it is checked, then dropped
            tally.add(result)
            _write(("," if index else "") + "\n" + textwrap.indent(json.dumps(_source_json(result, cost), indent=2),
                                                                    "    "),
                   end="")
        _write("")
        _write(f'  ],\n  "ok": {json.dumps(tally.exit_code(strict) == EXIT_OK)}\n}}')
    else:
        for result in results:
            tally.add(result)
            _print_source(result, fmt, fill, max_errors)
        _out(f"checked {tally.models} model(s) in {tally.sources} source(s): {tally.models - tally.failed} ok, "
             f"{tally.errors} error(s), {tally.warnings} warning(s)")
    sys.exit(max(tally.exit_code(strict), EXIT_SPEC if stale else EXIT_OK, EXIT_USAGE if unwritten else EXIT_OK))


def _print_source(result: SourceResult, fmt: str, fill: bool, max_errors: int) -> None:
    """One source in text or github form: a line per passing model, then its errors and warnings."""
    if fmt == "text":
        for report in result.reports:
            if report.ok:
                _out(pass_line(report))
                if fill:
                    _out(spec_text(report, fill=True))
    _show_limited(result, result.all_errors, result.all_warnings, max_errors, fmt)


def _show_limited(result: SourceResult, errors: list[RnnspecError], warnings: list[RnnspecError], limit: int,
                  fmt: str = "text") -> None:
    """The errors, then the warnings, at most `limit` in all (0: all) and a line saying how many more there are."""
    shown = errors + warnings if limit == 0 else (errors + warnings)[:limit]
    if fmt == "github":
        for error in shown:
            _write(github_annotation(error, result.path))
    else:
        _show_errors(result, shown)
    hidden_errors = max(len(errors) - len(shown), 0)
    hidden_warnings = len(errors) + len(warnings) - len(shown) - hidden_errors
    if hidden_errors or hidden_warnings:
        _out(f"{result.path}: {hidden_errors} more error(s) and {hidden_warnings} more warning(s) not shown "
             "(--max-errors 0 shows all)")


def _source_json(result: SourceResult, cost: bool = False) -> dict[str, object]:
    return {"path": result.path, "errors": [e.as_dict() for e in result.errors],
            "models": [report_json(m, cost) for m in result.reports]}


def _one_source(file: str | None, expr: str | None) -> SourceResult:
    if (file is None) == (expr is None):
        raise click.UsageError("give either FILE or -e 'SPEC'")
    if expr is not None:
        return check_source(EXPR_PATH, expr)
    if not file:
        raise click.BadParameter("the path is empty", param_hint="FILE")
    result = read_spec(Path(file))
    if result.io_error:
        _show_errors(result, result.errors)
        sys.exit(EXIT_USAGE)
    return result


def _pick(result: SourceResult, model: str | None) -> list[ModelReport]:
    """The reports a command works on: all of them, or the one named; exits with the errors otherwise."""
    reports = result.reports
    if model is not None:
        reports = [r for r in reports if r.name == model]
        if not reports:
            names = [r.name for r in result.reports]
            hint = suggest(model, names) or f"models: {', '.join(names) or 'none'}"
            _show_error(RnnspecError("E210", f"no model named '{model}' in {result.path}", hint=hint))
            sys.exit(EXIT_USAGE)
    errors = [e for r in reports for e in r.errors]
    if errors:
        _show_limited(result, errors, [], MAX_ERRORS)
        sys.exit(EXIT_SPEC)
    if not reports:
        _show_error(RnnspecError("E210", f"{result.path} defines no model"))
        sys.exit(EXIT_SPEC)
    return reports


def _one_model(result: SourceResult, model: str | None) -> ModelReport:
    reports = _pick(result, model)
    if len(reports) > 1:
        names = ", ".join(r.name for r in reports)
        raise click.UsageError(f"{result.path} defines {len(reports)} models; pick one with --model ({names})")
    return reports[0]


@main.command()
@click.argument("file", required=False, type=click.Path())
@click.option("-e", "--expr", metavar="SPEC", help="A spec given on the command line.")
@click.option("--model", metavar="NAME", help="Only this model of the file.")
@click.option("--cost", is_flag=True, help="Add each layer's MACs, FLOPs and output elements per sample, and totals "
              "(docs/cost.md).")
@click.option("--at", "at", metavar="T=N", help="With --cost: the figures at this length of the unknown dimensions "
              "(T=100), instead of formulas in T.")
def summary(file: str | None, expr: str | None, model: str | None, cost: bool, at: str | None) -> None:
    """Print the Keras-style summary table of each model."""
    length = None
    if at is not None:
        if not cost:
            raise click.UsageError("--at gives the length for --cost; add --cost")
        written = at[2:] if at.startswith("T=") else at
        if not written.replace("_", "").isdigit() or int(written.replace("_", "")) < 1:
            raise click.UsageError(f"--at takes a length such as T=100, found {at!r}")
        length = int(written.replace("_", ""))
    reports = _pick(_one_source(file, expr), model)
    _out("\n\n".join(summary_table(r, cost=cost, length=length) for r in reports))


SEED = click.IntRange(min=0)  # NumPy's generators take seeds >= 0


@main.command(name="compile")
@click.argument("file", required=False, type=click.Path())
@click.option("-e", "--expr", metavar="SPEC", help="A spec given on the command line.")
@click.option("--model", metavar="NAME", help="The model to compile (needed when the file has several).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to save: model.keras (Keras) or model.npz (NumPy).")
@click.option("--backend", type=click.Choice(["keras", "numpy"]), default="keras", show_default=True)
@click.option("--weights", metavar="W", type=click.Path(),
              help="NumPy backend: weights to save (.npz, .keras, .weights.h5) instead of fresh ones.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="NumPy backend: seed of the fresh weights.")
def compile_command(file: str | None, expr: str | None, model: str | None, output: str, backend: str,
                    weights: str | None, seed: int) -> None:
    """Build the model with a backend and save it (Keras: a .keras file; NumPy: an .npz with spec and weights).

    The model is built by `rnnspec.compile`, so the command refuses exactly what the API refuses."""
    if backend == "keras" and weights is not None:
        raise click.UsageError("--weights is for the NumPy backend (--backend numpy)")
    suffix = ".keras" if backend == "keras" else ".npz"
    if not output.endswith(suffix):
        raise click.UsageError(f"the {'Keras' if backend == 'keras' else 'NumPy'} backend saves to a path ending "
                               f"in {suffix}")
    result = _one_source(file, expr)
    report = _one_model(result, model)
    if backend == "numpy":
        _compile_numpy(result, report, output, weights, seed)
        return
    try:
        built = api.compile(report, backend="keras")
        built.save(output)
    except RnnspecError as err:
        _fail(err, result.source)
    except OSError as err:
        _fail(RnnspecError("E500", f"cannot write {output}: {err.strerror or err}"))
    _out(f"saved {report.name} ({report.total:,} params) to {output}")


def _fail(err: RnnspecError, source: str | None = None, exit_code: int | None = None) -> NoReturn:
    """Print a backend or I/O error compiler-style and exit: 2 for I/O (E500), 1 otherwise, unless told."""
    errors = getattr(err, "errors", [err])
    lines = source_lines(source) if source is not None else None
    for error in errors[:MAX_ERRORS]:
        _show_error(error, lines)
    sys.exit(exit_code if exit_code is not None else EXIT_USAGE if err.code == "E500" else EXIT_SPEC)


def _out_of_memory(what: str) -> RnnspecError:
    """A MemoryError below rnnspec's own size limit (E503): the machine has less memory free than that."""
    return RnnspecError("E503", f"out of memory while {what}", hint="use a smaller batch or model, or free memory")


def _compile_numpy(result: SourceResult, report: ModelReport, output: str, weights: str | None, seed: int) -> None:
    from rnnspec.backends.numpy.weights_io import load_weights, save_npz

    try:
        numpy_model = api.compile(report, backend="numpy", seed=seed)
        if weights is not None:
            load_weights(numpy_model, weights)
        save_npz(numpy_model, output, source=result.source)
    except RnnspecError as err:
        _fail(err, result.source)
    except MemoryError:
        _fail(_out_of_memory(f"building model '{report.name}'"))
    where = f"weights from {weights}" if weights else f"fresh weights, seed {seed}"
    _out(f"saved {report.name} ({report.total:,} params, {where}) to {output}")


def _parse_random(text: str) -> tuple[int, int | None]:
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or any(p < 1 for p in parts):
        raise click.BadParameter("expected B or B,T: a batch size and a number of time steps, e.g. 2,100",
                                 param_hint="--random")
    return parts[0], parts[1] if len(parts) == 2 else None


def _inputs_of(numpy_model: Any) -> list[tuple[str | None, Any]]:
    """(name, tensor) of each input: a functional model's by name, a chain's one input unnamed."""
    report = numpy_model.report
    return list(report.inputs) if report.network is not None else [(None, report.input)]


def _output_names(numpy_model: Any) -> list[str]:
    """A name per output, to print and to key an `-o OUT.npz`: the name the spec binds to it, else its layer's
    (Keras's own output names repeat for a layer's several outputs, so a repeat is numbered)."""
    report = numpy_model.report
    if report.network is None:
        return [report.rows[-1].name if report.rows else "output"]
    graph, network = report.functional, report.network
    names: list[str] = []
    for ref in graph.outputs:
        name = graph.tensor_names.get(ref) or network.names[graph.calls[ref.call].layer]
        base, count = name, 0
        while name in names:
            count += 1
            name = f"{base}_{count}"
        names.append(name)
    return names


def _vocabulary(numpy_model: Any, name: str | None) -> tuple[int, int]:
    """(size, lowest id) of the ids an integer input takes: those of the Embeddings it reaches first (every one
    of them, so an id fits each; from 1 where one has `mask_zero`), or 0 and 1 with no Embedding to read them."""
    report = numpy_model.report
    nodes = []
    if report.network is None:
        for row in report.rows:
            node = row.node.args.get("layer", row.node)
            if getattr(node, "type_name", None) == "Embedding":
                nodes.append(node)
                break
    else:
        graph = report.functional
        consumers: dict[int, list[int]] = {}
        for index, call in enumerate(graph.calls):
            for ref in call.inputs:
                consumers.setdefault(ref.call, []).append(index)
        start = next(c for c in graph.inputs if report.network.names[graph.calls[c].layer] == name)
        frontier, seen = [start], {start}
        while frontier:  # breadth first from the input, stopping at each Embedding
            reached = sorted({i for c in frontier for i in consumers.get(c, ()) if i not in seen})
            seen.update(reached)
            frontier = []
            for index in reached:
                layer = graph.layers[graph.calls[index].layer]
                node = layer.args.get("layer", layer)
                if getattr(node, "type_name", None) == "Embedding":
                    nodes.append(node)
                else:
                    frontier.append(index)
    if not nodes:
        return 2, 0
    size = min(node.args.input_dim for node in nodes)
    low = 1 if size > 1 and any(node.args.mask_zero for node in nodes) else 0
    return size, low


def _random_inputs(numpy_model: Any, batch: int, steps: int | None, seed: int) -> list[Any]:
    """One array per input: ids within the vocabulary of the Embeddings it feeds for integer inputs, booleans
    with every first step true for a boolean (mask) input, normal floats otherwise; `steps` fills every unknown
    dimension after the batch. Refused before allocating when they would pass the size limit."""
    import numpy as np

    from rnnspec.infer import require_allocatable

    inputs = _inputs_of(numpy_model)
    unknown = [(name, spec) for name, spec in inputs if None in spec.shape[1:]]
    if unknown and steps is None:
        name, spec = unknown[0]
        who = "the model takes inputs of shape" if name is None else f"input '{name}' has shape"
        raise click.BadParameter(f"{who} {format_shape(spec.shape)}; give the number of time steps as "
                                 "--random B,T", param_hint="--random")
    if steps is not None and not unknown:
        for name, spec in inputs:
            dims = spec.shape[1:]
            if dims and dims[0] != steps:
                who = "the model takes" if name is None else f"input '{name}' takes"
                raise click.BadParameter(f"{who} {dims[0]} time steps ({format_shape(spec.shape)}), not {steps}"
                                         + ("" if len(inputs) == 1 else "; every dimension is known: give --random B"),
                                         param_hint="--random")
    shapes = [(batch, *(steps if d is None else d for d in spec.shape[1:])) for _, spec in inputs]
    size = sum(math.prod(shape) for shape in shapes)
    shown = ", ".join(format_shape(shape) for shape in shapes)
    require_allocatable(size * 8, f"the --random input{'s' if len(shapes) > 1 else ''} {shown}",  # 64-bit draws
                        hint="give a smaller batch or fewer steps")
    rng = np.random.default_rng([seed, 1])  # a stream apart from the fresh weights' (seed alone)
    arrays = []
    for (name, spec), shape in zip(inputs, shapes):
        if spec.dtype == "bool":
            mask = rng.random(size=shape) < 0.8
            if mask.ndim > 1:
                mask[:, 0] = True  # every sequence has a real step
            arrays.append(mask)
        elif spec.dtype.startswith(("int", "uint")):
            vocabulary, low = _vocabulary(numpy_model, name)
            high = min(vocabulary, int(np.iinfo(spec.dtype).max) + 1)  # ids the input's integer type can hold
            arrays.append(rng.integers(low, max(high, low + 1), size=shape).astype(spec.dtype))
        else:
            arrays.append(rng.normal(size=shape).astype(numpy_model.dtype))
    return arrays


NUMBER_KINDS = "biuf"  # booleans, integers, floats: what a model's input can be made of
INPUT_HINT = "save the input with numpy.save (or numpy.savez with one array)"
INPUTS_HINT = "save the inputs with numpy.savez(path, {}), one array per input by name"


def _read_inputs(path: str, numpy_model: Any) -> list[Any]:
    """One array per input, read with the NumPy backend's bounded readers: a `.npy` (or an `.npz` of one array)
    for a model of one input, an `.npz` of one array per input by name for several. Each header is read first,
    so a huge, truncated or bomb-like file, or one of Python objects or non-numbers, is refused before its data
    is read; nothing is unpickled. A file that does not hold the model's inputs is E501 (exit 1); any other fault
    E500 (E503 for arrays too large) naming the file: exit 2."""
    try:
        return _read_input_file(path, [name for name, _ in _inputs_of(numpy_model)], numpy_model.name)
    except RnnspecError as err:
        if err.code == "E500" and err.hint is None:
            err.hint = INPUT_HINT
        _fail(err, exit_code=EXIT_SPEC if err.code == "E501" else EXIT_USAGE)
    except MemoryError:
        _fail(_out_of_memory(f"reading {path}"), exit_code=EXIT_USAGE)


def _read_input_file(path: str, names: list[str | None], model: str) -> list[Any]:
    import zipfile

    from rnnspec.backends.numpy.npy import reading, zip_member

    file = api.open_regular(path, hint="give an .npy file (or an .npz of one array)" if len(names) == 1 else
                            "give an .npz of one array per input, by name")
    several = len(names) > 1
    hint = INPUTS_HINT.format(", ".join(f"{name}=..." for name in names))
    with file:
        with reading(path):
            declared = os.fstat(file.fileno()).st_size
            archived = zipfile.is_zipfile(file)
            file.seek(0)
            if not archived and file.read(4) == b"PK\x03\x04":
                raise RnnspecError("E500", f"cannot read {path}: a zip archive cut short or damaged (it has "
                                   "no central directory)", hint="the file was not written completely")
            file.seek(0)
        if not archived:
            if several:
                raise RnnspecError("E501", f"{path} holds one array, but model '{model}' takes {len(names)} inputs "
                                   f"({', '.join(map(str, names))})", hint=hint)
            return [_read_npy(file, path, declared)]
        with reading(path), zipfile.ZipFile(file) as archive:
            members = archive.namelist()
            if not several:
                if len(members) != 1:
                    raise RnnspecError("E500", f"{path} holds {len(members)} arrays; give one (.npy)")
                wanted = members
            else:
                wanted = [f"{name}.npy" for name in names]
                missing = [name for name, member in zip(names, wanted) if member not in archive.NameToInfo]
                unknown = [member for member in members if member not in wanted]
                if missing or unknown:
                    found = _some(members) or "nothing"
                    said = [f"missing {', '.join(map(str, missing))}"] if missing else []
                    said += [f"unknown {_some(unknown)}"] if unknown else []
                    raise RnnspecError("E501", f"{path} holds {found}; model '{model}' takes the inputs "
                                       f"{', '.join(map(str, names))} ({'; '.join(said)})", hint=hint)
            arrays, total = [], 0
            for member in wanted:
                info = zip_member(archive, member, path)
                where = f"{path} ({member})"
                with reading(where):
                    stream = archive.open(info)
                with stream:
                    array = _read_npy(stream, where, info.file_size, total)
                total += array.nbytes
                arrays.append(array)
            return arrays


def _some(names: list[str], count: int = 8, width: int = 60) -> str:
    """A few of a file's member names, each cut short: the names are the file's, of any number and length."""
    shown = [name if len(name) <= width else name[:width - 3] + "..." for name in names[:count]]
    return ", ".join(shown) + (f", ... ({len(names):,} in all)" if len(names) > count else "")


def _read_npy(stream: Any, where: str, declared: int, before: int = 0) -> Any:
    """The array in an `.npy` of `declared` bytes: its header checked (numbers, an allocatable size with the
    `before` bytes of the arrays read already, the data it declares all there and nothing after it) before any
    data is read."""
    from rnnspec.backends.numpy.npy import NPY_HEADER_BYTES, Capped, npy_data, npy_header, reading
    from rnnspec.infer import require_allocatable

    capped = Capped(stream, NPY_HEADER_BYTES, where)
    with reading(where):
        header = npy_header(capped, where)
    dtype = header.dtype
    if dtype.kind not in NUMBER_KINDS or dtype.fields is not None:
        raise RnnspecError("E500", f"{where} holds {dtype} values; a model's input is numbers",
                           hint="save a numeric array (ids as integers, features as floats)")
    require_allocatable(before + header.nbytes, f"the array in {where} ({format_shape(header.shape)} {dtype})"
                        + (f" with the {before:,} bytes of the inputs before it" if before else ""))
    header.check_size(declared, where)
    return npy_data(capped, header, where)


def _stored_spec(path: str) -> str | None:
    """The spec text inside an rnnspec .npz, to show the lines its errors point at."""
    from rnnspec.backends.numpy.weights_io import NpzContents

    try:
        return NpzContents(path).spec
    except RnnspecError:
        return None


def digest(array: Any) -> str:
    """`mean M  std S  sha256 H`: the output in a line, H the first 12 hex digits of its float32 bytes."""
    import hashlib

    import numpy as np

    values = np.ascontiguousarray(array, dtype=np.float32)
    mean = float(values.mean(dtype=np.float64)) if values.size else 0.0
    std = float(values.std(dtype=np.float64)) if values.size else 0.0
    return f"mean {mean:.6g}  std {std:.6g}  sha256 {hashlib.sha256(values.tobytes()).hexdigest()[:12]}"


@main.command()
@click.argument("file", required=False, type=click.Path())
@click.option("-e", "--expr", metavar="SPEC", help="A spec given on the command line.")
@click.option("--model", metavar="NAME", help="The model to run (needed when the file has several).")
@click.option("--weights", metavar="W", type=click.Path(),
              help="Weights: an rnnspec .npz (which also carries its spec), .keras, .weights.h5 or .h5.")
@click.option("--input", "input_path", metavar="X.npy", type=click.Path(), help="The input batch.")
@click.option("--random", "random_shape", metavar="B,T",
              help="A random input: B sequences of T steps (ids for Embedding, normal floats otherwise).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of fresh weights and --random input.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Save the output as .npy.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Batch size of predict().")
def run(file: str | None, expr: str | None, model: str | None, weights: str | None, input_path: str | None,
        random_shape: str | None, seed: int, output: str | None, batch_size: int) -> None:
    """Run a model with the NumPy backend (no TensorFlow) and print its output's shape and digest.

    FILE is a spec (.rnn) or an .npz saved by rnnspec, which carries its own spec and weights.
    """
    if (input_path is None) == (random_shape is None):
        raise click.UsageError("give either --input X.npy or --random B,T")
    random = _parse_random(random_shape) if random_shape is not None else None
    if output is not None and not output.endswith((".npy", ".npz")):
        raise click.UsageError("the output is saved as .npy (or .npz, an array per output): give a path ending in "
                               ".npy or .npz")
    from rnnspec.backends.numpy.weights_io import load_npz, load_weights

    source: str | None = None
    if file is not None and file.endswith(".npz") or file is None and expr is None and weights is not None \
            and weights.endswith(".npz"):
        if expr is not None:
            raise click.UsageError("give either FILE or -e 'SPEC'")
        carrier = file if file is not None else weights
        try:
            numpy_model = load_npz(carrier)  # type: ignore[arg-type]
            if model is not None and model != numpy_model.name:
                raise RnnspecError("E210", f"{carrier} holds model '{numpy_model.name}', not '{model}'")
            if file is not None and weights is not None:
                load_weights(numpy_model, weights)
        except RnnspecError as err:
            _fail(err, _stored_spec(carrier))  # type: ignore[arg-type]
        except MemoryError:
            _fail(_out_of_memory(f"loading {carrier}"))
    else:
        if file is None and expr is None:
            raise click.UsageError("give a spec FILE, -e 'SPEC', or --weights MODEL.npz")
        result = _one_source(file, expr)
        report = _one_model(result, model)
        source = result.source
        try:
            numpy_model = api.compile(report, backend="numpy", seed=seed)
            if weights is not None:
                load_weights(numpy_model, weights)
        except RnnspecError as err:
            _fail(err, source)
        except MemoryError:
            _fail(_out_of_memory(f"building model '{report.name}'"))
    names = _output_names(numpy_model)
    if output is not None and output.endswith(".npy") and len(names) > 1:
        raise click.UsageError(f"model '{numpy_model.name}' has {len(names)} outputs ({', '.join(names)}); save "
                               "them with -o OUT.npz (an array per output, by name)")
    if random is not None:
        try:
            xs = _random_inputs(numpy_model, *random, seed)
        except RnnspecError as err:
            _fail(err, exit_code=EXIT_USAGE)
    else:
        xs = _read_inputs(input_path, numpy_model)  # type: ignore[arg-type]
    inputs = _inputs_of(numpy_model)
    functional = numpy_model.report.network is not None
    x = {name: array for (name, _), array in zip(inputs, xs)} if functional else xs[0]
    try:
        y = numpy_model.predict(x, batch_size=batch_size)
    except RnnspecError as err:
        if input_path is not None:
            err.message = f"{input_path}: {err.message}"
        _fail(err, source)
    except MemoryError:
        _fail(_out_of_memory(f"running model '{numpy_model.name}'"))
    ys = y if isinstance(y, list) else [y]
    _out(f"{numpy_model.name}: {_described('input', [n for n, _ in inputs] if functional else [None], xs)} -> "
         f"{_described('output', names if functional else [None], ys)}")
    for name, array in zip(names, ys):
        _out(digest(array) if len(ys) == 1 else f"{name}: {digest(array)}")
    if output is not None:
        _save_outputs(output, names, ys)


def _described(kind: str, names: list[str | None], arrays: list[Any]) -> str:
    """`input (2, 5, 3) float32`, or for a functional model `inputs a (2, 5) int32, b (2, 5, 3) float32`."""
    parts = [" ".join(str(p) for p in (name, format_shape(a.shape), a.dtype) if p is not None)
             for name, a in zip(names, arrays)]
    return f"{kind}{'s' if len(parts) > 1 else ''} {', '.join(parts)}"


def _save_outputs(path: str, names: list[str], arrays: list[Any]) -> None:
    """The output as `.npy`, or every output in an `.npz` by name (written member by member as numpy.savez
    writes them, since savez would take a name such as `file` for its own argument)."""
    import zipfile

    import numpy as np

    try:
        with open(path, "wb") as target:
            if path.endswith(".npy"):
                np.save(target, arrays[0])
            else:
                with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                    for name, array in zip(names, arrays):
                        with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    except OSError as err:
        _fail(RnnspecError("E500", f"cannot write {path}: {err.strerror or err}"))
    said = "the output" if len(arrays) == 1 else f"the {len(arrays)} outputs ({', '.join(names)})"
    _out(f"saved {said} to {path}")


@main.command()
@click.argument("names", nargs=-1)
def layers(names: tuple[str, ...]) -> None:
    """List every supported layer with its arguments and defaults (or only NAMES)."""
    from rnnspec.layers.docs import describe_layers

    try:
        _out(describe_layers(names))
    except RnnspecError as err:
        _fail(err, exit_code=EXIT_USAGE)


# Commands defined in their own modules register on `main` when imported (after it exists).
from rnnspec import cli_fmt, cli_from_keras, cli_graph  # noqa: E402,F401
