"""Initialisers, regularisers and constraints: the arguments that shape no tensor and count no parameter, written
as Keras writes them, by name (`orthogonal`, `"l2"`) or as a call (`RandomNormal(stddev=0.01)`, `L2(1e-4)`).

They are checked against Keras's own classes and arguments (a test compares this table with Keras), kept as
`KerasObject`s, passed to Keras by the Keras backend, and drawn from by the NumPy backend for fresh weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from rnnspec.errors import RnnspecError
from rnnspec.layers.base import (
    ArgType, Choice, Float, Int, IntTuple, Param, describe_value, ident_of, is_none, suggest,
)
from rnnspec.syntax import Call, Literal, Value

SEED = Param("seed", Int(min=0, nullable=True), None, doc="a fixed seed: the same values every time")
AXES = IntTuple(min=-64, nullable=True)

# Keras 3's classes and their constructor arguments, in order (keras.initializers / regularizers / constraints).
CLASSES: dict[str, dict[str, tuple[Param, ...]]] = {
    "initializer": {
        "Constant": (Param("value", Float(), 0.0, positional=True),),
        "GlorotNormal": (SEED, Param("input_axes", AXES, None), Param("output_axes", AXES, None)),
        "GlorotUniform": (SEED, Param("input_axes", AXES, None), Param("output_axes", AXES, None)),
        "HeNormal": (SEED, Param("input_axes", AXES, None), Param("output_axes", AXES, None)),
        "HeUniform": (SEED, Param("input_axes", AXES, None), Param("output_axes", AXES, None)),
        "Identity": (Param("gain", Float(), 1.0, positional=True),),
        "LecunNormal": (SEED, Param("input_axes", AXES, None), Param("output_axes", AXES, None)),
        "LecunUniform": (SEED, Param("input_axes", AXES, None), Param("output_axes", AXES, None)),
        "Ones": (),
        "Orthogonal": (Param("gain", Float(), 1.0, positional=True), SEED),
        "RandomNormal": (Param("mean", Float(), 0.0, positional=True), Param("stddev", Float(min=0.0), 0.05,
                                                                                    positional=True), SEED),
        "RandomUniform": (Param("minval", Float(), -0.05, positional=True), Param("maxval", Float(), 0.05,
                                                                                      positional=True), SEED),
        "TruncatedNormal": (Param("mean", Float(), 0.0, positional=True), Param("stddev", Float(min=0.0), 0.05,
                                                                                        positional=True), SEED),
        "VarianceScaling": (Param("scale", Float(min=0.0), 1.0, positional=True),
                            Param("mode", Choice(choices=("fan_in", "fan_out", "fan_avg")), "fan_in", positional=True),
                            Param("distribution", Choice(choices=("truncated_normal", "untruncated_normal",
                                                                  "uniform")), "truncated_normal", positional=True),
                            SEED, Param("input_axes", AXES, None), Param("output_axes", AXES, None)),
        "Zeros": (),
    },
    "regularizer": {
        "L1": (Param("l1", Float(min=0.0), 0.01, positional=True),),
        "L2": (Param("l2", Float(min=0.0), 0.01, positional=True),),
        "L1L2": (Param("l1", Float(min=0.0), 0.0, positional=True), Param("l2", Float(min=0.0), 0.0, positional=True)),
        "OrthogonalRegularizer": (Param("factor", Float(min=0.0), 0.01, positional=True),
                                  Param("mode", Choice(choices=("rows", "columns")), "rows", positional=True)),
    },
    "constraint": {
        "MaxNorm": (Param("max_value", Float(min=0.0), 2.0, positional=True), Param("axis", Int(), 0, positional=True)),
        "MinMaxNorm": (Param("min_value", Float(min=0.0), 0.0, positional=True),
                       Param("max_value", Float(min=0.0), 1.0, positional=True),
                       Param("rate", Float(min=0.0), 1.0, positional=True), Param("axis", Int(), 0, positional=True)),
        "NonNeg": (),
        "UnitNorm": (Param("axis", Int(), 0, positional=True),),
    },
}

# The names Keras's `get` accepts for them (its ALL_OBJECTS_DICT), snake case and aliases; not "constant", which
# Keras 3 lists but cannot make without a value (KeyError): write Constant(0.5).
NAMES: dict[str, dict[str, str]] = {
    "initializer": {
        "glorot_normal": "GlorotNormal", "glorot_uniform": "GlorotUniform",
        "he_normal": "HeNormal", "he_uniform": "HeUniform", "identity": "Identity", "lecun_normal": "LecunNormal",
        "lecun_uniform": "LecunUniform", "normal": "RandomNormal", "one": "Ones", "ones": "Ones",
        "orthogonal": "Orthogonal", "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
        "truncated_normal": "TruncatedNormal", "uniform": "RandomUniform", "variance_scaling": "VarianceScaling",
        "zero": "Zeros", "zeros": "Zeros",
    },
    "regularizer": {"l1": "L1", "l1l2": "L1L2", "l2": "L2", "orthogonal_regularizer": "OrthogonalRegularizer"},
    "constraint": {"max_norm": "MaxNorm", "min_max_norm": "MinMaxNorm", "non_neg": "NonNeg", "unit_norm": "UnitNorm"},
}


class KerasObject(NamedTuple):
    """An initialiser, regulariser or constraint: its Keras class and the arguments written (defaults left out,
    so `glorot_uniform` and `GlorotUniform()` are the same object)."""

    kind: str
    name: str
    args: tuple[tuple[str, Any], ...] = ()

    def get(self, name: str) -> Any:
        for key, value in self.args:
            if key == name:
                return value
        return next(p.default for p in CLASSES[self.kind][self.name] if p.name == name)

    def spec(self) -> str:
        """As a spec writes it: the class name, with its arguments if any."""
        if not self.args:
            return snake_name(self.kind, self.name)
        from rnnspec.unparse import _value

        return f"{self.name}({', '.join(f'{k}={_value(v)}' for k, v in self.args)})"


def snake_name(kind: str, name: str) -> str:
    return next(snake for snake, cls in NAMES[kind].items() if cls == name)


@dataclass(frozen=True)
class ObjectArg(ArgType):
    """An initialiser, regulariser or constraint argument: a name, a string, a call, or None where allowed."""

    kind: str = "initializer"
    nullable: bool = True

    @property
    def description(self) -> str:  # type: ignore[override]
        examples = {"initializer": "glorot_uniform, RandomNormal(stddev=0.01)", "regularizer": "l2, L2(1e-4)",
                    "constraint": "max_norm, MaxNorm(3)"}[self.kind]
        return f"an {self.kind} ({examples})" if self.kind == "initializer" else f"a {self.kind} ({examples}) or None"

    def convert(self, param: str, value: Value, resolver: Any) -> KerasObject | None:
        if is_none(value):
            if not self.nullable:
                raise RnnspecError("E202", f"'{param}' expects {self.description}, found None", value.span)
            return None
        classes = CLASSES[self.kind]
        word = ident_of(value)
        if word is None and isinstance(value, Literal) and isinstance(value.value, str):
            word = value.value
        if word is not None:
            name = NAMES[self.kind].get(word) or (word if word in classes else None)
            if name is None:
                raise RnnspecError("E203", f"'{param}' expects {self.description}, found '{word}'", value.span,
                                   suggest(word, [*NAMES[self.kind], *classes]))
            return KerasObject(self.kind, name)
        if not isinstance(value, Call) or value.name not in classes:
            name = value.name if isinstance(value, Call) else None
            raise RnnspecError("E202", f"'{param}' expects {self.description}, found {describe_value(value)}",
                               value.span, suggest(name, classes) if name else None)
        return KerasObject(self.kind, value.name, self._arguments(value, classes[value.name]))

    def _arguments(self, call: Call, params: tuple[Param, ...]) -> tuple[tuple[str, Any], ...]:
        table = {p.name: p for p in params}
        positional = iter(p for p in params if p.positional)
        given: dict[str, Any] = {}
        for arg in call.args:
            if arg.name is None:
                param = next(positional, None)
                if param is None:
                    raise RnnspecError("E206", f"{call.name} takes {sum(p.positional for p in params)} positional "
                                       "argument(s); this one is extra", arg.span)
            else:
                param = table.get(arg.name)
                if param is None:
                    raise RnnspecError("E201", f"{call.name} has no argument '{arg.name}'", arg.name_span or arg.span,
                                       suggest(arg.name, table) or f"{call.name} takes: "
                                       f"{', '.join(table) or 'nothing'}")
            if param.name in given:
                raise RnnspecError("E205", f"'{param.name}' is given twice", arg.span)
            given[param.name] = param.type.convert(param.name, arg.value, None)
        return tuple((p.name, given[p.name]) for p in params if p.name in given and given[p.name] != p.default)

    def show(self, value: Any) -> str:
        return "None" if value is None else value.spec()


def weight_arguments(*weights: tuple[str, str], activity: bool = True) -> tuple[Param, ...]:
    """Keras's arguments for the weights `(prefix, default initialiser)`, in its order: every initialiser, every
    regulariser, then `activity_regularizer`, then every constraint (`kernel_initializer`, ..., `bias_constraint`)."""
    params = [Param(f"{prefix}_initializer", ObjectArg("initializer", nullable=False), KerasObject("initializer",
                    NAMES["initializer"].get(default, default))) for prefix, default in weights]
    params += [Param(f"{prefix}_regularizer", ObjectArg("regularizer"), None) for prefix, _ in weights]
    if activity:
        params.append(ACTIVITY_REGULARIZER)
    params += [Param(f"{prefix}_constraint", ObjectArg("constraint"), None) for prefix, _ in weights]
    return tuple(params)


ACTIVITY_REGULARIZER = Param("activity_regularizer", ObjectArg("regularizer"), None,
                             doc="a penalty on the layer's output while training")

# A weight's initialiser argument, where its name is not `<weight>_initializer`.
_INITIALIZER_OF = {"recurrent_kernel": "recurrent_initializer", "depthwise_kernel": "depthwise_initializer",
                   "pointwise_kernel": "pointwise_initializer"}


def initializer_for(args: Any, weight: str) -> KerasObject | None:
    """The initialiser a layer's arguments give the weight named `weight`, if the layer takes one."""
    value = args.get(_INITIALIZER_OF.get(weight, f"{weight}_initializer"))
    return value if isinstance(value, KerasObject) else None
