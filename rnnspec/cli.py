"""The `rnnspec` command: check, summary, compile, layers. Exit 0 ok, 1 a spec is wrong, 2 usage or I/O."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport, check_module
from rnnspec.parser import parse
from rnnspec.render import JSON_SCHEMA_VERSION, format_error, pass_line, report_json, summary_table

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


def check_source(path: str, source: str) -> SourceResult:
    result = SourceResult(path, source)
    try:
        result.reports = check_module(parse(source, path))
    except RnnspecError as err:
        result.errors.append(err)
    return result


def read_spec(path: Path) -> SourceResult:
    shown = str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        return SourceResult(shown, errors=[RnnspecError("E500", f"cannot read {shown}: {err.strerror or err}")],
                            io_error=True)
    try:
        return check_source(shown, data.decode("utf-8"))
    except UnicodeDecodeError as err:
        return SourceResult(shown, errors=[RnnspecError(
            "E500", f"{shown} is not UTF-8 text (byte {err.start})", hint="save the file as UTF-8")], io_error=True)


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


def _echo_errors(result: SourceResult) -> None:
    for error in result.all_errors:
        click.echo(format_error(error, result.source, _color()), err=False)


def _exit_code(results: list[SourceResult]) -> int:
    if any(r.io_error for r in results):
        return EXIT_USAGE
    return EXIT_SPEC if any(r.all_errors for r in results) else EXIT_OK


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnspec")
def main() -> None:
    """rnnspec: check recurrent model specs (shapes and parameter counts with Keras parity) and compile them."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-e", "--expr", "exprs", multiple=True, metavar="SPEC", help="Check a spec given on the command line.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(paths: tuple[str, ...], exprs: tuple[str, ...], fmt: str) -> None:
    """Check every model and assertion in PATHS (files, or directories searched for *.rnn)."""
    if not paths and not exprs:
        raise click.UsageError("give at least one PATH or -e 'SPEC'")
    files, results = collect(paths)
    results += [read_spec(f) for f in files]
    results += [check_source(EXPR_PATH, e) for e in exprs]
    if fmt == "json":
        click.echo(json.dumps(_json(results), indent=2))
    else:
        models = failed = 0
        for result in results:
            for report in result.reports:
                models += 1
                failed += not report.ok
                if report.ok:
                    click.echo(pass_line(report))
            _echo_errors(result)
        errors = sum(len(r.all_errors) for r in results)
        click.echo(f"checked {models} model(s) in {len(results)} source(s): {models - failed} ok, "
                   f"{errors} error(s)")
    sys.exit(_exit_code(results))


def _json(results: list[SourceResult]) -> dict[str, object]:
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "ok": _exit_code(results) == EXIT_OK,
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
            names = ", ".join(r.name for r in result.reports) or "none"
            click.echo(format_error(RnnspecError("E210", f"no model named '{model}' in {result.path}",
                                                 hint=f"models: {names}"), None, _color()))
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
@click.option("-o", "--output", required=True, type=click.Path(), help="Where to save, e.g. model.keras.")
@click.option("--backend", type=click.Choice(["keras"]), default="keras", show_default=True)
def compile_command(file: str | None, expr: str | None, model: str | None, output: str, backend: str) -> None:
    """Build the model with a backend and save it (Keras: a .keras file)."""
    result = _one_source(file, expr)
    reports = _pick(result, model)
    if len(reports) > 1:
        names = ", ".join(r.name for r in reports)
        raise click.UsageError(f"{result.path} defines {len(reports)} models; pick one with --model ({names})")
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
