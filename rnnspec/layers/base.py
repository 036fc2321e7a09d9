"""The layer contract: a layer type is one class holding its signature, shape rule and weight list.

Parameter counts are the sum of the declared weights, the Keras backend passes the resolved arguments to the
Keras class of the same name, and `rnnspec layers` prints the signatures: one table, every use.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Iterable, Mapping, NamedTuple

from rnnspec.errors import RnnspecError, Span
from rnnspec.shape import Shape, format_shape
from rnnspec.syntax import Call, Ident, Literal, TupleLit, Value


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()


class Tensor(NamedTuple):
    """What flows between layers: a shape (batch first) and a dtype."""

    shape: Shape
    dtype: str = "float32"


class Weight(NamedTuple):
    """One weight as Keras declares it (a NamedTuple: inference makes many of these)."""

    name: str
    shape: tuple[int, ...]
    trainable: bool = True

    @property
    def size(self) -> int:
        total = 1
        for d in self.shape:
            total *= d
        return total


class ShapeError(RnnspecError):
    """A layer cannot take the shape it received; `reason` lets the checker add a diagnosis."""

    def __init__(self, message: str, hint: str | None = None, reason: str | None = None,
                 code: str = "E300") -> None:
        super().__init__(code, message, None, hint)
        self.reason = reason


def refuse_strings(layer: str) -> ShapeError:
    """Strings go through TextVectorization first: Keras builds other layers on them (Dense, Embedding), and the
    model then fails on its first batch, far from the spec."""
    return ShapeError(f"{layer} cannot take strings", hint="turn them into token ids first: "
                      "Input(shape=(), dtype=string) > TextVectorization(max_tokens, output_sequence_length=...)")


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """`did you mean 'X'?` for the closest name, if one is close enough."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def type_error(param: str, expected: str, value: Value) -> RnnspecError:
    return RnnspecError("E202", f"'{param}' expects {expected}, found {describe_value(value)}", value.span)


def describe_value(value: Value) -> str:
    if isinstance(value, Literal):
        kind = {int: "the integer", float: "the number", str: "the string"}[type(value.value)]
        return f"{kind} {value.value!r}"
    if isinstance(value, TupleLit):
        return "a tuple"
    word = ident_of(value)
    if word in _TRUE | _FALSE:
        return f"the boolean {word}"
    if word is not None:
        return f"'{word}'"
    return f"the layer {value.name}(...)"


def ident_of(value: Value) -> str | None:
    """The identifier a value spells (`relu`, `None`), if it is a bare name."""
    if isinstance(value, Ident):
        return value.name
    if isinstance(value, Call) and not value.has_parens:
        return value.name
    return None


# ---------------------------------------------------------------- argument types


class ArgType:
    """Converts one syntax value into a Python value, or raises a located error."""

    description = "a value"

    def convert(self, param: str, value: Value, resolver: Any) -> Any:
        raise NotImplementedError

    def show(self, value: Any) -> str:
        return "None" if value is None else repr(value) if isinstance(value, str) else str(value).lower() \
            if isinstance(value, bool) else str(value)


MAX_SIZE = 2**31 - 1  # the largest integer argument: a size past int32 cannot be built, only overflow


def _too_large(param: str, number: int, span: Span) -> RnnspecError:
    shown = f"{number:,}" if number < 10**30 else f"a {len(str(number))}-digit number"
    return RnnspecError("E203", f"'{param}' must be at most {MAX_SIZE:,}, found {shown}", span,
                        "sizes and counts beyond 32-bit integers cannot be built")


def is_none(value: Value) -> bool:
    """`None` written in any of the spellings the language accepts."""
    return ident_of(value) in ("None", "none", "null")


@dataclass(frozen=True)
class Int(ArgType):
    min: int | None = None
    max: int | None = None
    nullable: bool = False

    @property
    def description(self) -> str:  # type: ignore[override]
        base = "an integer" if self.min is None else f"an integer >= {self.min}"
        return base + (" or None" if self.nullable else "")

    def convert(self, param: str, value: Value, resolver: Any) -> int | None:
        if self.nullable and is_none(value):
            return None
        if not (isinstance(value, Literal) and type(value.value) is int):
            raise type_error(param, self.description, value)
        number = value.value
        if self.min is not None and number < self.min:
            raise RnnspecError("E203", f"'{param}' must be at least {self.min}, found {number}", value.span)
        if self.max is not None and number > self.max:
            raise RnnspecError("E203", f"'{param}' must be at most {self.max}, found {number}", value.span)
        if number > MAX_SIZE:
            raise _too_large(param, number, value.span)
        return number


@dataclass(frozen=True)
class Float(ArgType):
    min: float | None = None
    max: float | None = None
    description: str = "a number"
    max_reason: str | None = None  # set where Keras accepts `max` itself but it cannot work: max is excluded

    def convert(self, param: str, value: Value, resolver: Any) -> float:
        if not (isinstance(value, Literal) and type(value.value) in (int, float)):
            raise type_error(param, self.description, value)
        number = float(value.value) if type(value.value) is float or abs(value.value) <= MAX_SIZE else math.inf
        if not math.isfinite(number):
            raise RnnspecError("E203", f"'{param}' must be a finite number; this one overflows a float", value.span)
        if self.min is not None and number < self.min or self.max is not None and number > self.max:
            bounds = f"between {self.min:g} and {self.max:g}" if self.max is not None else f"at least {self.min:g}"
            raise RnnspecError("E203", f"'{param}' must be {bounds}, found {value.value}", value.span)
        if self.max_reason and number == self.max:
            raise RnnspecError("E203", f"'{param}' must be below {self.max:g}: {self.max_reason}", value.span,
                               "Keras accepts it, but the model cannot learn through it")
        return number


_TRUE, _FALSE = {"true", "True"}, {"false", "False"}


@dataclass(frozen=True)
class Bool(ArgType):
    description: str = "true or false"

    def convert(self, param: str, value: Value, resolver: Any) -> bool:
        name = ident_of(value)
        if name in _TRUE:
            return True
        if name in _FALSE:
            return False
        raise type_error(param, self.description, value)


@dataclass(frozen=True)
class Choice(ArgType):
    choices: tuple[str, ...] = ()
    nullable: bool = False

    @property
    def description(self) -> str:  # type: ignore[override]
        listed = ", ".join(self.choices) + (", None" if self.nullable else "")
        return f"one of {listed}"

    def convert(self, param: str, value: Value, resolver: Any) -> str | None:
        if self.nullable and is_none(value):
            return None
        name = ident_of(value)
        if name is None and isinstance(value, Literal) and isinstance(value.value, str):
            name = value.value
        if name is None:
            raise type_error(param, self.description, value)
        if name not in self.choices:
            raise RnnspecError("E203", f"'{param}' expects {self.description}, found '{name}'", value.span,
                               suggest(name, self.choices))
        return name


# Activations Keras 3 knows by name that rnnspec supports (None means linear, as in Keras).
ACTIVATIONS = (
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "sigmoid",
    "hard_sigmoid", "hard_silu", "hard_swish", "tanh", "softmax", "log_softmax", "softplus",
    "softsign", "exponential", "mish",
)


@dataclass(frozen=True)
class Activation(Choice):
    choices: tuple[str, ...] = ACTIVATIONS
    nullable: bool = True

    @property
    def description(self) -> str:  # type: ignore[override]
        return "an activation name (tanh, sigmoid, relu, softmax, ...; None is linear)"

    def convert(self, param: str, value: Value, resolver: Any) -> str:
        return super().convert(param, value, resolver) or "linear"


DTYPES = ("float32", "float64", "float16", "bfloat16", "int32", "int64", "int16", "int8", "uint8", "bool")
# Keras's other spellings (`keras.backend.standardize_dtype`: "int" is int64 on the TensorFlow backend, "float"
# float32) and the mixed-precision policies a layer's `dtype=` takes (computing in the first, storing in the second).
DTYPE_ALIASES = {"int": "int64", "float": "float32"}
POLICIES = ("mixed_float16", "mixed_bfloat16")


@dataclass(frozen=True)
class DType(Choice):
    """A dtype by Keras's name or one of its aliases (`int`, `float`), resolved to the name Keras reports."""

    choices: tuple[str, ...] = DTYPES
    aliases: tuple[tuple[str, str], ...] = tuple(DTYPE_ALIASES.items())

    def convert(self, param: str, value: Value, resolver: Any) -> str | None:
        word = ident_of(value)
        if word is None and isinstance(value, Literal) and isinstance(value.value, str):
            word = value.value
        alias = dict(self.aliases).get(word or "")
        return alias if alias is not None else super().convert(param, value, resolver)


def compute_dtype(policy: str) -> str:
    """The dtype a layer of this `dtype=` computes in (`mixed_float16` computes in float16)."""
    return policy[len("mixed_"):] if policy.startswith("mixed_") else policy


@dataclass(frozen=True)
class IntTuple(ArgType):
    """A tuple of integers (an int alone is a 1-tuple); `-1` and `None` only where allowed."""

    min: int = 1
    length: int | None = None
    allow_minus_one: bool = False
    allow_none: bool = False  # None as one of the integers (Input's unknown dimensions)
    nullable: bool = False    # None instead of the whole tuple (a pooling's strides: the pool size)

    @property
    def description(self) -> str:  # type: ignore[override]
        return "an integer" if self.length == 1 else "a tuple of integers"

    def convert(self, param: str, value: Value, resolver: Any) -> tuple[int, ...] | None:
        if self.nullable and is_none(value):
            return None
        items = value.items if isinstance(value, TupleLit) else (value,)
        result = []
        for item in items:
            if self.allow_none and is_none(item):
                result.append(None)
                continue
            if not (isinstance(item, Literal) and type(item.value) is int):
                raise type_error(param, self.description, item)
            n = item.value
            if n < self.min and not (self.allow_minus_one and n == -1):
                raise RnnspecError("E203", f"'{param}' needs integers >= {self.min}, found {n}", item.span)
            if n > MAX_SIZE:
                raise _too_large(param, n, item.span)
            result.append(n)
        if self.length is not None and len(result) != self.length:
            raise RnnspecError("E203", f"'{param}' expects {self.length} value(s), found {len(result)}", value.span)
        if self.allow_minus_one and result.count(-1) > 1:
            raise RnnspecError("E203", f"'{param}' may contain -1 only once", value.span)
        return tuple(result)

    def show(self, value: Any) -> str:
        if isinstance(value, tuple):
            return str(value[0]) if self.length == 1 else format_shape(value)
        return str(value)


@dataclass(frozen=True)
class Name(ArgType):
    """A layer's name: a word or a string, without `/` (Keras refuses it: it separates the parts of weight paths)."""

    description: str = "a name (a word or a string, without '/')"

    def convert(self, param: str, value: Value, resolver: Any) -> str | None:
        if is_none(value):
            return None
        word = ident_of(value)
        if word is None and isinstance(value, Literal) and isinstance(value.value, str):
            word = value.value
        if not word or "/" in word or word in _TRUE | _FALSE:
            raise type_error(param, self.description, value)
        return word


@dataclass(frozen=True)
class LayerArg(ArgType):
    """A layer given as an argument (wrappers); `families` limits which layers fit."""

    families: tuple[str, ...] = ()
    description: str = "a layer"

    def convert(self, param: str, value: Value, resolver: Any) -> "LayerNode":
        if not isinstance(value, Call):
            raise type_error(param, self.description, value)
        node = resolver(value)
        if self.families and node.kind.family not in self.families:
            raise RnnspecError(
                "E202", f"'{param}' expects {self.description}, found {node.kind.name}", value.span,
                "wrap a recurrent layer: SimpleRNN, LSTM or GRU" if "recurrent" in self.families else None)
        return node

    def show(self, value: Any) -> str:
        return "layer"


# ---------------------------------------------------------------- signatures and layer types


@dataclass(frozen=True)
class Param:
    name: str
    type: ArgType
    default: Any = REQUIRED
    positional: bool = False
    doc: str = ""
    deprecated: str | None = None  # why Keras no longer uses it: accepted with a warning (W109), not passed on

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


_NO_ARGUMENT = object()
_dict_get = dict.get
_dict_attribute = dict.__getattribute__


class Args(dict):
    """Resolved arguments with attribute access (`a.units`), the arguments first: a `__getattr__` would run only
    after Python's own lookup failed, and building that AttributeError made `a.units` cost 0.6 us, five times
    this; the shape rules of every layer read their arguments so. (No argument is named like a dict method.)
    Methods pay for it instead (`a.get` 0.28 us, against 0.12): the few reads every layer makes call
    `dict.get(a, key)`."""

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        value = _dict_get(self, name, _NO_ARGUMENT)
        return _dict_attribute(self, name) if value is _NO_ARGUMENT else value


@dataclass(eq=False)
class LayerNode:
    """A layer call resolved against the registry: every argument converted, defaults filled in."""

    kind: "LayerType"
    args: Args
    span: Span
    arg_spans: Mapping[str, Span] = field(default_factory=dict)

    @property
    def type_name(self) -> str:
        return self.kind.name


_registry: dict[str, "LayerType"] = {}
_aliases: dict[str, str] = {}  # Keras's other names for a class (`MaxPool1D`): the same layer type


def snake_case(name: str) -> str:
    """Keras's default layer name for a class (`SimpleRNN` -> `simple_rnn`)."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class LayerType:
    """Base of every layer type. Subclasses declare `params` and override the shape and weight rules."""

    name: ClassVar[str]
    family: ClassVar[str] = "core"
    params: ClassVar[tuple[Param, ...]] = ()
    flags: ClassVar[Mapping[str, tuple[str, Any]]] = {}
    varargs: ClassVar[str | None] = None  # name of a param that collects extra positional args (Input)
    doc: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()  # Keras's other names for the class (`keras.layers.MaxPool1D`)
    # The arguments every Keras layer takes through `Layer.__init__` (its **kwargs), added after the class's own
    # params unless it declares them: so a layer type gets `name=`, `dtype=` etc. without writing them.
    generic: ClassVar[tuple[str, ...]] = ("activity_regularizer", "trainable", "dtype", "autocast", "name")
    # Keras arguments rnnspec refuses, each with why (E201 with this hint, not "did you mean").
    unsupported: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _registry[cls.name] = cls()
            for alias in cls.__dict__.get("aliases", ()):
                _aliases[alias] = cls.name

    def __init__(self) -> None:
        self.params = _with_generic(self.params, self.generic)  # type: ignore[misc]
        self.keras_name = snake_case(self.name)  # Keras's default layer name, computed once per type
        self.flag_table = self.all_flags()
        self.param_table = {p.name: p for p in self.params}
        self.positional = tuple(p for p in self.params if p.positional)
        self.required = tuple(p.name for p in self.params if p.required)
        self.defaults = {p.name: None if p.required else p.default for p in self.params}
        self.deprecated = tuple(p for p in self.params if p.deprecated)
        self.layer_params = tuple(p.name for p in self.params if isinstance(p.type, LayerArg))  # a wrapper's layers
        self.may_hold_deprecated = bool(self.deprecated or self.layer_params)  # the lint's W109 looks only at these
        # whether `input_warning` is overridden: the walks skip the call for the many layer types that warn of nothing
        self.warns_on_input = type(self).input_warning is not LayerType.input_warning
        self.misstates = type(self).stated_outputs is not LayerType.stated_outputs  # likewise

    def param(self, name: str) -> Param | None:
        return self.param_table.get(name)

    def all_flags(self) -> dict[str, tuple[str, Any]]:
        """Bare names accepted as positional flags: declared aliases plus every boolean parameter."""
        flags = {p.name: (p.name, True) for p in self.params if isinstance(p.type, Bool)}
        flags.update(self.flags)
        return flags

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        """Checks that involve several arguments together (override where Keras has such rules)."""

    def implied_input(self, a: Args) -> Tensor | None:
        """The model input this layer implies when it comes first (Embedding: integer ids)."""
        return None

    def output(self, a: Args, x: Tensor) -> Tensor:
        policy = dict.get(a, "dtype")  # `output_dtype` inlined, and dict.get (see Args): every layer runs this
        return Tensor(self.output_shape(a, x.shape), "float32" if policy is None else compute_dtype(policy))

    def output_dtype(self, a: Args, x: Tensor) -> str:
        """Keras's layers output their compute dtype: float32 unless `dtype=` gives another."""
        policy = a.get("dtype")
        return "float32" if policy is None else compute_dtype(policy)

    def input_warning(self, a: Args, x: Tensor) -> tuple[str, str, str] | None:
        """(code, message, hint) for an input the layer takes but probably should not (Embedding: floats)."""
        return None

    # ---- the functional form (several tensors in or out); a chain uses only `output` and `weights`

    takes_strings: ClassVar[bool] = False  # takes an `Input(dtype=string)` (TextVectorization); see `refuse_strings`
    takes_several: ClassVar[bool] = False  # a merge: called on a tuple of at least two tensors, `(a, b) > Add`
    call_arguments: ClassVar[tuple[str, ...]] = ()  # tensors its call takes by name: `initial_state=`, `mask=`
    # Keras's call takes the tensors as separate arguments, `layer(query, value, key)`, not as one list
    several_as_arguments: ClassVar[bool] = False

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """The output tensors of one call on `inputs` (one tensor unless `takes_several`). Several outputs come
        from `return_state` (the output, then the states); a ShapeError refuses inputs that do not fit."""
        return (self.output(a, inputs[0]),)

    def stated_outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Shape | None, ...]:
        """Per output of `outputs`, the shape Keras states for it where that differs from the shape it computes
        (None where they agree). rnnspec reports the computed shape; a layer fed the tensor is refused, since Keras
        builds it for the stated one."""
        return ()

    def call_options(self, a: Args) -> dict[str, Any]:
        """Arguments of Keras's call rather than its constructor (Attention's `return_attention_scores`), written
        with the layer's arguments: the Keras backend passes them to each call, `keras_kwargs` leaves them out."""
        return {}

    def output_names(self, a: Args) -> tuple[str, ...]:
        """What each output of `outputs` is, for errors that tell how to unpack them (`output`, `h`, `c`)."""
        return ("output",)

    def state_shapes(self, a: Args, x: Tensor) -> tuple[Shape, ...] | None:
        """The shapes `initial_state=` must give, in order, for a call on `x`; None where the layer takes none."""
        return None

    def call_weights(self, a: Args, inputs: tuple[Tensor, ...]) -> list[Weight]:
        """The weights a first call on `inputs` builds (a shared layer's later calls must fit them)."""
        return self.weights(a, inputs[0].shape)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        return shape

    def weights(self, a: Args, shape: Shape) -> list[Weight]:
        """The weights in Keras's order. A frozen layer (`trainable=false`) keeps them all, as non-trainable,
        so freezing is one rule here rather than one per layer; wrappers freeze what they wrap the same way."""
        declared = self.declared_weights(a, shape)
        if dict.get(a, "trainable", True):  # dict.get: see Args
            return declared
        return [w._replace(trainable=False) for w in declared]

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        """The weights the layer creates (override this; `weights` applies `trainable`)."""
        return []

    def keras_kwargs(self, a: Args) -> dict[str, Any]:
        """Constructor arguments for `keras.layers.<name>`: the resolved arguments, by Keras's names (a deprecated
        one, which Keras ignores with a warning of its own, is left out)."""
        kwargs = dict(a)
        for param in self.deprecated:
            kwargs.pop(param.name, None)
        return kwargs


# Every Keras layer takes `trainable`; the layers with weights declare it (it moves counts to non-trainable).
TRAINABLE = Param("trainable", Bool(), True, doc="false freezes every weight (counted as non-trainable)")

# `lora_rank` (Dense, Embedding, Conv1D): Keras freezes the kernel and adds two trainable low-rank factors.
LORA_RANK = Param("lora_rank", Int(min=1, nullable=True), None,
                  doc="LoRA: the kernel (Embedding: the table) is frozen and two trainable factors of this rank added")


LORA_ALPHA = Param("lora_alpha", Int(min=1, nullable=True), None,
                   doc="LoRA's scale is lora_alpha / lora_rank (None: the rank, a scale of 1)")
# Keras 3.15's Dense and Embedding keep `lora_alpha` in their config but build with `enable_lora(rank)`, which
# resets it to the rank: it scales nothing there, and the NumPy backend computes as Keras does.
LORA_ALPHA_IGNORED = replace(LORA_ALPHA, doc="passed to Keras, which resets it to lora_rank when the layer is built "
                             "(Keras 3.15): no effect on outputs")


def with_lora(weights: list[Weight], rank: int | None) -> list[Weight]:
    """Keras's LoRA on a layer whose first weight is its kernel (or embeddings): that weight is frozen, and the
    factors A (its shape with the last axis replaced by the rank) and B `(rank, last)` come after every weight."""
    if rank is None:
        return weights
    main, *rest = weights
    return [main._replace(trainable=False), *rest, Weight(f"lora_{main.name}_a", (*main.shape[:-1], rank)),
            Weight(f"lora_{main.name}_b", (rank, main.shape[-1]))]


# ---- the arguments of Keras's `Layer.__init__`, which every layer type takes (see LayerType.generic)

LAYER_DTYPE = Param("dtype", DType(choices=(*DTYPES, *POLICIES), nullable=True), None,
                    doc="the layer's dtype policy (None: float32); the NumPy backend computes in the model's dtype")
AUTOCAST = Param("autocast", Bool(), True, doc="cast float inputs to the layer's compute dtype")
NAME = Param("name", Name(), None, doc="the layer's name (None: Keras's, e.g. dense_1); unique in a model")

# What an argument that shapes nothing and counts nothing does, for `rnnspec layers` (by its name's ending).
_INERT_DOCS = {
    "_initializer": "how fresh weights are drawn (Keras and the NumPy backend); no effect on shapes or counts",
    "_regularizer": "a training penalty; no effect on shapes, counts or outputs",
    "_constraint": "applied after each training step; no effect on shapes, counts or outputs",
}


def _with_generic(params: tuple[Param, ...], generic: tuple[str, ...]) -> tuple[Param, ...]:
    """The class's params, then the generic ones it does not declare; arguments that change no number get a doc
    that says so."""
    from rnnspec.layers.objects import ACTIVITY_REGULARIZER

    table = {"activity_regularizer": ACTIVITY_REGULARIZER, "trainable": TRAINABLE, "dtype": LAYER_DTYPE,
             "autocast": AUTOCAST, "name": NAME}
    declared = {p.name for p in params}
    result = []
    for p in (*params, *(table[g] for g in generic if g not in declared)):
        suffix = next((s for s in _INERT_DOCS if p.name.endswith(s)), None)
        if suffix is not None and not p.doc:
            p = replace(p, doc=_INERT_DOCS[suffix])
        result.append(p)
    return tuple(result)


def registry() -> Mapping[str, LayerType]:
    from rnnspec import layers  # noqa: F401  (importing the package registers every family)

    return _registry


def aliases() -> Mapping[str, str]:
    """Keras's other names for layer types rnnspec has (`MaxPool1D` -> `MaxPooling1D`)."""
    registry()
    return _aliases


def lookup(name: str, span: Span) -> LayerType:
    kind = _registry.get(name) or _registry.get(_aliases.get(name, ""))
    if kind is None:
        table = registry()  # the families register on import; look again before calling the name unknown
        kind = table.get(name) or table.get(_aliases.get(name, ""))
        if kind is None:
            raise RnnspecError("E200", f"unknown layer '{name}'", span, suggest(name, [*table, *_aliases]))
    return kind


# ---------------------------------------------------------------- shape helpers for layer rules


def require_rank(layer: str, shape: Shape, rank: int, meaning: str, reason: str | None = None) -> None:
    if len(shape) != rank:
        raise ShapeError(
            f"{layer} expects a {rank}D input {meaning}, but received {format_shape(shape)}",
            reason=reason,
        )


def require_known_last(layer: str, shape: Shape, what: str = "features") -> int:
    last = shape[-1]
    if last is None:
        raise ShapeError(
            f"{layer} needs a known last dimension ({what}), but received {format_shape(shape)}",
            hint="give the input a fixed feature size, e.g. Input(None, 32)", code="E302",
        )
    return last
