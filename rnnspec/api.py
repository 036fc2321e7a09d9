"""The public entry points: parse, check and compile a spec given as text or as parsed objects."""
from __future__ import annotations

from typing import Any, Union

from rnnspec.errors import RnnspecError
from rnnspec.graph import ModelGraph, lower
from rnnspec.infer import ModelReport, check_module, infer_graph, require_buildable
from rnnspec.parser import parse
from rnnspec.syntax import ModelDef, Module

Source = Union[str, Module, ModelDef, ModelReport]


def check(source: str | Module, path: str = "<spec>") -> list[ModelReport]:
    """Infer every model of a spec (text or parsed module); errors are in each report, never raised."""
    module = parse(source, path) if isinstance(source, str) else source
    return check_module(module)


def select(source: Source, model: str | None = None, path: str = "<spec>") -> ModelReport:
    """The report of one model: the only one, or the one named `model`; raises if it does not check."""
    if isinstance(source, ModelReport):
        report = source
    elif isinstance(source, ModelDef):
        report = infer_graph(lower(source))
    else:
        reports = check(source, path)
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


def compile(source: Source, backend: str = "keras", model: str | None = None, **options: Any) -> Any:
    """A runnable model for one spec: `backend="keras"` gives a built `keras.Model`, `backend="numpy"` a
    `NumpyModel` (options: `seed=0` for its fresh weights, `dtype="float32"`)."""
    report = select(source, model)
    require_buildable(report)
    if backend == "keras":
        from rnnspec.backends.keras import build

        if options:
            raise RnnspecError("E501", f"the Keras backend takes no options, got: {', '.join(sorted(options))}",
                               hint="seed and dtype are options of backend='numpy'")
        return build(report)
    if backend == "numpy":
        from rnnspec.backends.numpy import build as build_numpy

        return build_numpy(report, **options)
    raise RnnspecError("E501", f"unknown backend '{backend}'", hint="available: keras, numpy")


__all__ = ["check", "compile", "parse", "select", "ModelGraph"]
