"""The public entry points: parse, check and compile a spec given as text, a file or parsed objects.

Everything after the source is keyword-only: `select(text, "m")` and `check(text, "m.rnn")` read alike and mean
different things, so neither is accepted.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Union

from rnnspec.allow import allowed_codes, apply_allows
from rnnspec.errors import RnnspecError, Span
from rnnspec.graph import ModelGraph, lower
from rnnspec.infer import ModelReport, check_model, check_module, require_allocatable, require_buildable
from rnnspec.parser import MAX_SOURCE_CHARS, parse, parse_blocks, too_large
from rnnspec.syntax import ModelDef, Module

Source = Union[str, Path, Module, ModelDef, ModelReport]
DEFAULT_PATH = "<spec>"


def check(source: str | Path | Module, *, path: str | None = None, allow: Iterable[str] = ()) -> list[ModelReport]:
    """Every model of a spec, in source order: text, a `.rnn` file, or a parsed module. Every error of the spec,
    a syntax error included, is in its model's report (a block that does not parse is a report of its name);
    only a file that cannot be read raises (E500, or E104 past the size limit). `allow` names warning codes not
    to report; `# rnnspec: allow W100` on a line does the same for that line."""
    run_allows = allowed_codes(allow)
    if isinstance(source, Path):
        path = path or str(source)
        source = read_spec_file(source)
    if isinstance(source, Module):
        reports, text, path = check_module(source), source.source, path or source.path
    elif not isinstance(source, str):
        raise TypeError(f"check() takes spec text, a pathlib.Path or a parsed Module, not {type(source).__name__}")
    else:
        path = path or DEFAULT_PATH
        reports, text = _check_text(source, path), source
    apply_allows(reports, text, path, run_allows)
    return reports


def _check_text(source: str, path: str) -> list[ModelReport]:
    modules, broken = parse_blocks(source, path)
    names: dict[str, Span] = {}
    reports = [report for module in modules for report in check_module(module, names)]
    if broken:
        for report in reports:
            report.source = source  # not the copy each block was parsed from
        reports += [ModelReport(block.name, block.span, errors=[block.error], source=source) for block in broken]
        reports.sort(key=lambda r: (r.span.line, r.span.column))
    return reports


def open_regular(path: str | Path, hint: str | None = None) -> BinaryIO:
    """`path` opened for reading if it is a regular file; a FIFO, device or socket is refused before anything
    is read from it (opening a FIFO without O_NONBLOCK waits for a writer forever). `hint`, when given, says what
    to give instead on every failure (a spec path's default: a file or a directory)."""
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise RnnspecError("E500", f"no such file: {shown}", hint=hint) from None
    except OSError as err:
        raise RnnspecError("E500", f"cannot read {shown}: {err.strerror or err}", hint=hint) from None
    except ValueError as err:  # a path with a NUL byte
        raise RnnspecError("E500", f"cannot read {shown!r}: {err}", hint=hint) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, device or socket)"
        raise RnnspecError("E500", f"{shown} is {kind}",
                           hint=hint or "give a file, or a directory to search for *.rnn")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_spec_file(path: str | Path) -> str:
    """The text of a spec file: a regular file of at most MAX_SOURCE_CHARS bytes of UTF-8 (E500, E104 if not)."""
    shown = str(path)
    with open_regular(path) as file:
        try:
            data = file.read(MAX_SOURCE_CHARS + 1)  # bounded: a huge file must not exhaust memory
        except OSError as err:
            raise RnnspecError("E500", f"cannot read {shown}: {err.strerror or err}") from None
    if len(data) > MAX_SOURCE_CHARS:
        raise too_large(shown, "bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = len(data[data.rfind(b"\n", 0, err.start) + 1:err.start].decode("utf-8", "replace")) + 1
        raise RnnspecError(
            "E500", f"{shown} is not UTF-8 text: byte 0x{data[err.start]:02x} cannot start or continue a character",
            Span(shown, line, column, line, column + 1), "save the file as UTF-8") from None


def select(source: Source, *, model: str | None = None, path: str | None = None) -> ModelReport:
    """The report of one model: the only one, or the one named `model`; raises if it does not check."""
    if isinstance(source, ModelReport):
        report = source
    elif isinstance(source, ModelDef):
        report = check_model(source)
    else:
        reports = check(source, path=path)
        if not reports:
            raise RnnspecError("E210", "the spec defines no model")
        if model is None:
            if len(reports) > 1:
                names = ", ".join(r.name for r in reports)
                raise RnnspecError("E210", f"the spec defines {len(reports)} models; pick one with model=NAME",
                                   hint=f"models: {names}")
            report = reports[0]
        else:
            found = [r for r in reports if r.name == model]
            if not found:
                from rnnspec.layers.base import suggest

                names = [r.name for r in reports]
                raise RnnspecError("E210", f"no model named '{model}'",
                                   hint=suggest(model, names) or f"models: {', '.join(names)}")
            report = found[0]
    if report.errors:
        raise report.errors[0] if len(report.errors) == 1 else _all(report.errors)
    return report


def _all(errors: list[RnnspecError]) -> RnnspecError:
    from rnnspec.errors import ErrorList

    return ErrorList(errors)


def compile(source: Source, *, backend: str = "keras", model: str | None = None, **options: Any) -> Any:
    """A runnable model for one spec: `backend="keras"` gives a built `keras.Model`, `backend="numpy"` a
    `NumpyModel` (options: `seed=0` for its fresh weights, `dtype="float32"`)."""
    report = select(source, model=model)
    require_buildable(report)
    if backend == "keras":
        from rnnspec.backends.keras import build

        if options:
            raise RnnspecError("E501", f"the Keras backend takes no options, got: {', '.join(sorted(options))}",
                               hint="seed and dtype are options of backend='numpy'")
        require_allocatable(report.bytes, f"the weights of model '{report.name}'", report.span,
                            "`rnnspec check` reports its shapes and counts without allocating them")
        return build(report)
    if backend == "numpy":
        from rnnspec.backends.numpy import build as build_numpy

        return build_numpy(report, **options)
    raise RnnspecError("E501", f"unknown backend '{backend}'", hint="available: keras, numpy")


__all__ = ["check", "compile", "parse", "read_spec_file", "select", "ModelGraph"]
