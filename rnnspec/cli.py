"""The `rnnspec` command: check, summary, compile, run, layers. Exit 0 ok, 1 a spec is wrong, 2 usage or I/O."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import suggest
from rnnspec.infer import ModelReport, check_module
from rnnspec.parser import MAX_SOURCE_CHARS, parse_blocks, too_large
from rnnspec.unparse import spec_text
from rnnspec.render import (
    JSON_SCHEMA_VERSION, format_error, github_annotation, pass_line, report_json, summary_table,
)
from rnnspec.shape import format_shape

EXIT_OK, EXIT_SPEC, EXIT_USAGE = 0, 1, 2
EXPR_PATH = "<expr>"


@dataclass
class SourceResult:
    """One file or expression: its text, the reports of its models, and errors that stopped it early."""

    path: str
    source: str | None = None
    reports: list[ModelReport] = field(default_factory=list)
    errors: list[RnnspecError] = field(default_factory=list)
    io_error: bool = False

    @property
    def all_errors(self) -> list[RnnspecError]:
        return self.errors + [e for r in self.reports for e in r.errors]

    @property
    def all_warnings(self) -> list[RnnspecError]:
        return [w for r in self.reports for w in r.warnings]


def check_source(path: str, source: str) -> SourceResult:
    """Every model of one text; a syntax error costs only the model block it is in."""
    result = SourceResult(path, source)
    modules, broken = parse_blocks(source, path)
    result.errors = [block.error for block in broken]
    names: dict[str, Span] = {}
    for module in modules:
        result.reports += check_module(module, names)
    return result


def read_spec(path: Path) -> SourceResult:
    shown = str(path)
    try:
        with path.open("rb") as file:  # a bounded read: a huge file, or /dev/zero, must not exhaust memory
            data = file.read(MAX_SOURCE_CHARS + 1)
    except OSError as err:
        return SourceResult(shown, errors=[RnnspecError("E500", f"cannot read {shown}: {err.strerror or err}")],
                            io_error=True)
    if len(data) > MAX_SOURCE_CHARS:
        return SourceResult(shown, errors=[too_large(shown, "bytes")], io_error=True)
    try:
        return check_source(shown, data.decode("utf-8"))
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = len(data[data.rfind(b"\n", 0, err.start) + 1:err.start].decode("utf-8", "replace")) + 1
        return SourceResult(shown, errors=[RnnspecError(
            "E500", f"{shown} is not UTF-8 text: byte 0x{data[err.start]:02x} cannot start or continue a character",
            Span(shown, line, column, line, column + 1), "save the file as UTF-8")], io_error=True)


def collect(paths: tuple[str, ...]) -> tuple[list[Path], list[SourceResult]]:
    """Files to check: files as given, directories searched recursively for `*.rnn`."""
    files: list[Path] = []
    problems: list[SourceResult] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.rnn") if p.is_file())
            if not found:
                problems.append(SourceResult(raw, errors=[RnnspecError("E500", f"no .rnn files under {raw}")],
                                             io_error=True))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(SourceResult(raw, errors=[RnnspecError("E500", f"no such file or directory: {raw}")],
                                         io_error=True))
    return files, problems


def _color() -> bool:
    return sys.stdout.isatty()


def _echo_errors(result: SourceResult, warnings: bool = False) -> None:
    for error in result.all_errors + (result.all_warnings if warnings else []):
        click.echo(format_error(error, result.source, _color()), err=False)


def _exit_code(results: list[SourceResult], strict: bool = False) -> int:
    if any(r.io_error for r in results):
        return EXIT_USAGE
    failing = any(r.all_errors or (strict and r.all_warnings) for r in results)
    return EXIT_SPEC if failing else EXIT_OK


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnspec")
def main() -> None:
    """rnnspec: check recurrent model specs (shapes and parameter counts with Keras parity) and compile them."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-e", "--expr", "exprs", multiple=True, metavar="SPEC", help="Check a spec given on the command line.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text for people, json for programs, github for workflow annotations.")
@click.option("--strict", is_flag=True, help="Fail on warnings too (legal but suspicious specs).")
@click.option("--fill", is_flag=True, help="Print each passing model with every default argument written out.")
def check(paths: tuple[str, ...], exprs: tuple[str, ...], fmt: str, strict: bool, fill: bool) -> None:
    """Check every model and assertion in PATHS (files, or directories searched for *.rnn)."""
    if not paths and not exprs:
        raise click.UsageError("give at least one PATH or -e 'SPEC'")
    files, results = collect(paths)
    results += [read_spec(f) for f in files]
    results += [check_source(EXPR_PATH, e) for e in exprs]
    if fmt == "json":
        click.echo(json.dumps(_json(results, strict), indent=2))
    else:
        models = failed = 0
        for result in results:
            for report in result.reports:
                models += 1
                failed += not report.ok
                if report.ok and fmt == "text":
                    click.echo(pass_line(report))
                    if fill:
                        click.echo(spec_text(report, fill=True))
            if fmt == "github":
                for error in result.all_errors + result.all_warnings:
                    click.echo(github_annotation(error, result.path))
            else:
                _echo_errors(result, warnings=True)
        errors = sum(len(r.all_errors) for r in results)
        warnings = sum(len(r.all_warnings) for r in results)
        click.echo(f"checked {models} model(s) in {len(results)} source(s): {models - failed} ok, "
                   f"{errors} error(s), {warnings} warning(s)")
    sys.exit(_exit_code(results, strict))


def _json(results: list[SourceResult], strict: bool = False) -> dict[str, object]:
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "ok": _exit_code(results, strict) == EXIT_OK,
        "sources": [
            {"path": r.path, "errors": [e.as_dict() for e in r.errors], "models": [report_json(m) for m in r.reports]}
            for r in results
        ],
    }


def _one_source(file: str | None, expr: str | None) -> SourceResult:
    if (file is None) == (expr is None):
        raise click.UsageError("give either FILE or -e 'SPEC'")
    if expr is not None:
        return check_source(EXPR_PATH, expr)
    result = read_spec(Path(file))  # type: ignore[arg-type]
    if result.io_error:
        _echo_errors(result)
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
            click.echo(format_error(RnnspecError("E210", f"no model named '{model}' in {result.path}", hint=hint),
                                    None, _color()))
            sys.exit(EXIT_USAGE)
    if result.errors or any(r.errors for r in reports):
        for error in result.errors + [e for r in reports for e in r.errors]:
            click.echo(format_error(error, result.source, _color()))
        sys.exit(EXIT_SPEC)
    if not reports:
        click.echo(format_error(RnnspecError("E210", f"{result.path} defines no model"), None, _color()))
        sys.exit(EXIT_SPEC)
    return reports


@main.command()
@click.argument("file", required=False, type=click.Path())
@click.option("-e", "--expr", metavar="SPEC", help="A spec given on the command line.")
@click.option("--model", metavar="NAME", help="Only this model of the file.")
def summary(file: str | None, expr: str | None, model: str | None) -> None:
    """Print the Keras-style summary table of each model."""
    reports = _pick(_one_source(file, expr), model)
    click.echo("\n\n".join(summary_table(r) for r in reports))


@main.command(name="compile")
@click.argument("file", required=False, type=click.Path())
@click.option("-e", "--expr", metavar="SPEC", help="A spec given on the command line.")
@click.option("--model", metavar="NAME", help="The model to compile (needed when the file has several).")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Where to save: model.keras (Keras) or model.npz (NumPy).")
@click.option("--backend", type=click.Choice(["keras", "numpy"]), default="keras", show_default=True)
@click.option("--weights", metavar="W", type=click.Path(),
              help="NumPy backend: weights to save (.npz, .keras, .weights.h5) instead of fresh ones.")
@click.option("--seed", type=int, default=0, show_default=True, help="NumPy backend: seed of the fresh weights.")
def compile_command(file: str | None, expr: str | None, model: str | None, output: str, backend: str,
                    weights: str | None, seed: int) -> None:
    """Build the model with a backend and save it (Keras: a .keras file; NumPy: an .npz with spec and weights)."""
    result = _one_source(file, expr)
    reports = _pick(result, model)
    if len(reports) > 1:
        names = ", ".join(r.name for r in reports)
        raise click.UsageError(f"{result.path} defines {len(reports)} models; pick one with --model ({names})")
    if backend == "numpy":
        _compile_numpy(result, reports[0], output, weights, seed)
        return
    if weights is not None:
        raise click.UsageError("--weights is for the NumPy backend (--backend numpy)")
    if not output.endswith(".keras"):
        raise click.UsageError("the Keras backend saves to a path ending in .keras")
    from rnnspec.backends.keras import build

    try:
        build(reports[0]).save(output)
    except RnnspecError as err:
        click.echo(format_error(err, result.source, _color()))
        sys.exit(EXIT_SPEC)
    except OSError as err:
        click.echo(format_error(RnnspecError("E500", f"cannot write {output}: {err.strerror or err}"), None))
        sys.exit(EXIT_USAGE)
    click.echo(f"saved {reports[0].name} ({reports[0].total:,} params) to {output}")


def _fail(err: RnnspecError, source: str | None = None) -> None:
    """Print a backend or I/O error compiler-style and exit: 2 for I/O (E500), 1 otherwise."""
    for error in getattr(err, "errors", [err]):
        click.echo(format_error(error, source, _color()))
    sys.exit(EXIT_USAGE if err.code == "E500" else EXIT_SPEC)


def _compile_numpy(result: SourceResult, report: ModelReport, output: str, weights: str | None, seed: int) -> None:
    if not output.endswith(".npz"):
        raise click.UsageError("the NumPy backend saves to a path ending in .npz")
    from rnnspec.backends.numpy.model import NumpyModel
    from rnnspec.backends.numpy.weights_io import load_weights, save_npz

    try:
        numpy_model = NumpyModel(report, seed=seed)
        if weights is not None:
            load_weights(numpy_model, weights)
        save_npz(numpy_model, output, source=result.source)
    except RnnspecError as err:
        _fail(err, result.source)
    where = f"weights from {weights}" if weights else f"fresh weights, seed {seed}"
    click.echo(f"saved {report.name} ({report.total:,} params, {where}) to {output}")


def _parse_random(text: str) -> tuple[int, int | None]:
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or any(p < 1 for p in parts):
        raise click.BadParameter("expected B or B,T: a batch size and a number of time steps, e.g. 2,100",
                                 param_hint="--random")
    return parts[0], parts[1] if len(parts) == 2 else None


def _random_input(numpy_model: object, batch: int, steps: int | None, seed: int) -> object:
    """Ids within the first Embedding's vocabulary for integer inputs, normal floats otherwise; `steps` fills
    every unknown dimension after the batch."""
    import numpy as np

    spec = numpy_model.report.input  # type: ignore[attr-defined]
    dims = list(spec.shape[1:])
    if None in dims and steps is None:
        raise click.BadParameter(f"the model takes inputs of shape {format_shape(spec.shape)}; give the number "
                                 "of time steps as --random B,T", param_hint="--random")
    if steps is not None and None not in dims and dims and dims[0] != steps:
        raise click.BadParameter(f"the model takes {dims[0]} time steps ({format_shape(spec.shape)}), "
                                 f"not {steps}", param_hint="--random")
    shape = (batch, *(steps if d is None else d for d in dims))
    rng = np.random.default_rng([seed, 1])  # a stream apart from the fresh weights' (seed alone)
    if not spec.dtype.startswith(("int", "uint")):
        return rng.normal(size=shape).astype(numpy_model.dtype)  # type: ignore[attr-defined]
    vocabulary, low = 2, 0
    for row in numpy_model.report.rows:  # type: ignore[attr-defined]
        node = row.node.args.get("layer", row.node)
        if getattr(node, "type_name", None) == "Embedding":
            vocabulary, low = node.args.input_dim, 1 if node.args.mask_zero and node.args.input_dim > 1 else 0
            break
    return rng.integers(low, vocabulary, size=shape).astype(spec.dtype)


def _read_input(path: str) -> object:
    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        _fail(RnnspecError("E500", f"no such file: {path}"))
    except (OSError, ValueError) as err:
        _fail(RnnspecError("E500", f"cannot read {path} as a NumPy array: {err}"))
    if hasattr(data, "files"):
        with data:
            if len(data.files) != 1:
                _fail(RnnspecError("E500", f"{path} holds {len(data.files)} arrays; give one (.npy)"))
            return data[data.files[0]]
    return data


def _stored_spec(path: str) -> str | None:
    """The spec text inside an rnnspec .npz, to show the lines its errors point at."""
    from rnnspec.backends.numpy.weights_io import NpzContents

    try:
        return NpzContents(path).spec
    except RnnspecError:
        return None


def digest(array: object) -> str:
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
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of fresh weights and --random input.")
@click.option("-o", "--output", type=click.Path(), help="Save the output as .npy.")
@click.option("--batch-size", type=int, default=32, show_default=True, help="Batch size of predict().")
def run(file: str | None, expr: str | None, model: str | None, weights: str | None, input_path: str | None,
        random_shape: str | None, seed: int, output: str | None, batch_size: int) -> None:
    """Run a model with the NumPy backend (no TensorFlow) and print its output's shape and digest.

    FILE is a spec (.rnn) or an .npz saved by rnnspec, which carries its own spec and weights.
    """
    if (input_path is None) == (random_shape is None):
        raise click.UsageError("give either --input X.npy or --random B,T")
    from rnnspec.backends.numpy.model import NumpyModel
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
    else:
        if file is None and expr is None:
            raise click.UsageError("give a spec FILE, -e 'SPEC', or --weights MODEL.npz")
        result = _one_source(file, expr)
        reports = _pick(result, model)
        if len(reports) > 1:
            names = ", ".join(r.name for r in reports)
            raise click.UsageError(f"{result.path} defines {len(reports)} models; pick one with --model ({names})")
        source = result.source
        try:
            numpy_model = NumpyModel(reports[0], seed=seed)
            if weights is not None:
                load_weights(numpy_model, weights)
        except RnnspecError as err:
            _fail(err, source)
    if random_shape is not None:
        batch, steps = _parse_random(random_shape)
        x = _random_input(numpy_model, batch, steps, seed)
    else:
        x = _read_input(input_path)  # type: ignore[arg-type]
    try:
        y = numpy_model.predict(x, batch_size=batch_size)
    except RnnspecError as err:
        if input_path is not None:
            err.message = f"{input_path}: {err.message}"
        _fail(err, source)
    import numpy as np

    click.echo(f"{numpy_model.name}: input {format_shape(np.shape(x))} {np.asarray(x).dtype} -> "
               f"output {format_shape(y.shape)} {y.dtype}")
    click.echo(digest(y))
    if output is not None:
        try:
            np.save(output, y)
        except OSError as err:
            _fail(RnnspecError("E500", f"cannot write {output}: {err.strerror or err}"))
        click.echo(f"saved the output to {output}")


@main.command()
@click.argument("names", nargs=-1)
def layers(names: tuple[str, ...]) -> None:
    """List every supported layer with its arguments and defaults (or only NAMES)."""
    from rnnspec.layers.docs import describe_layers

    try:
        click.echo(describe_layers(names))
    except RnnspecError as err:
        click.echo(format_error(err, None, _color()))
        sys.exit(EXIT_USAGE)
