"""Input layers that turn categories and text into numbers: CategoryEncoding and TextVectorization.

Neither holds a weight Keras counts (`count_params()` is 0 for both, TextVectorization's vocabulary included).
TextVectorization comes first in a model and implies Keras's string input of shape `(None,)`; its vocabulary is
data, so the spec may list it (`vocabulary=("the", "cat")`), or the built Keras layer learns it with `adapt`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    ArgType, Args, Bool, Choice, Int, LayerType, Param, ShapeError, Tensor, describe_value, ident_of, is_none,
    type_error,
)
from rnnspec.shape import Shape, format_shape
from rnnspec.syntax import Literal, TupleLit, Value


class CategoryEncoding(LayerType):
    """Integer categories -> one-hot, multi-hot or count vectors of `num_tokens` floats.

    Keras's rank rules: one_hot encodes every id (`(batch, T)` -> `(batch, T, n)`) and first drops a last axis of
    1 (`(batch, 1)` -> `(batch, n)`); multi_hot and count reduce each sample's ids to one vector (`(batch, T)` ->
    `(batch, n)`) and work on 2D input only (on 3D, Keras states `(batch, T, n)` but computes `(batch, F, n)`)."""

    name = "CategoryEncoding"
    family = "preprocessing"
    params = (
        Param("num_tokens", Int(min=1), positional=True, doc="ids are 0..num_tokens-1"),
        Param("output_mode", Choice(choices=("one_hot", "multi_hot", "count")), "multi_hot", positional=True),
        Param("sparse", Bool(), False, doc="a sparse tensor in Keras (the NumPy backend returns it dense)"),
    )

    def output(self, a: Args, x: Tensor) -> Tensor:
        if not x.dtype.startswith(("int", "uint")):
            raise ShapeError(
                f"CategoryEncoding expects integer ids, but received {x.dtype} values of shape "
                f"{format_shape(x.shape)}", hint="feed category ids, e.g. Input(3, dtype=int32) (Keras would "
                "truncate floats to ids silently)")
        return Tensor(self.output_shape(a, x.shape))

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        if len(shape) < 2:
            raise ShapeError(
                f"CategoryEncoding on {format_shape(shape)} would encode the whole batch as one sample (Keras's "
                f"output is ({a.num_tokens},), with no batch axis)", hint="give each sample an axis of ids, e.g. "
                "Input(1, dtype=int32)")
        if a.output_mode == "one_hot":
            return (*shape[:-1], a.num_tokens) if shape[-1] == 1 else (*shape, a.num_tokens)
        if len(shape) > 2:
            raise ShapeError(
                f"CategoryEncoding with output_mode={a.output_mode} takes 2D input (batch, ids), but received "
                f"{format_shape(shape)}: Keras states {format_shape((*shape[:-1], a.num_tokens))} for it but "
                "reduces over axis 1 when it runs", hint="use output_mode=one_hot, or Reshape to (batch, ids) first")
        return (shape[0], a.num_tokens)


@dataclass(frozen=True)
class Strings(ArgType):
    """A tuple of strings (a vocabulary), or None."""

    description: str = "a tuple of strings or None"

    def convert(self, param: str, value: Value, resolver: Any) -> tuple[str, ...] | None:
        if is_none(value):
            return None
        items = value.items if isinstance(value, TupleLit) else (value,)
        words = []
        for item in items:
            if not (isinstance(item, Literal) and isinstance(item.value, str)):
                raise type_error(param, "strings, quoted (\"the\")", item)
            words.append(item.value)
        return tuple(words)

    def show(self, value: Any) -> str:
        return "None" if value is None else f"({', '.join(repr(w) for w in value)}{',' * (len(value) == 1)})"


@dataclass(frozen=True)
class Floats(ArgType):
    """A tuple of numbers (TextVectorization's idf_weights), or None."""

    description: str = "a tuple of numbers or None"

    def convert(self, param: str, value: Value, resolver: Any) -> tuple[float, ...] | None:
        if is_none(value):
            return None
        items = value.items if isinstance(value, TupleLit) else (value,)
        numbers = []
        for item in items:
            if not (isinstance(item, Literal) and type(item.value) in (int, float)):
                raise type_error(param, "numbers", item)
            numbers.append(float(item.value))
        return tuple(numbers)

    def show(self, value: Any) -> str:
        return "None" if value is None else f"({', '.join(map(str, value))}{',' * (len(value) == 1)})"


@dataclass(frozen=True)
class Ngrams(ArgType):
    """None, n (every n-gram up to n), or a tuple of the n-gram sizes to make."""

    description: str = "None, an integer >= 1 or a tuple of them"

    def convert(self, param: str, value: Value, resolver: Any) -> int | tuple[int, ...] | None:
        if is_none(value):
            return None
        items = value.items if isinstance(value, TupleLit) else (value,)
        sizes = []
        for item in items:
            sizes.append(Int(min=1).convert(param, item, resolver))
        if not sizes:
            raise type_error(param, self.description, value)
        return tuple(sizes) if isinstance(value, TupleLit) else sizes[0]

    def show(self, value: Any) -> str:
        if value is None or isinstance(value, int):
            return str(value)
        return f"({', '.join(map(str, value))}{',' * (len(value) == 1)})"


@dataclass(frozen=True)
class Text(ArgType):
    """A string, quoted or a bare name."""

    description: str = "a string"

    def convert(self, param: str, value: Value, resolver: Any) -> str:
        if isinstance(value, Literal) and isinstance(value.value, str):
            return value.value
        word = ident_of(value)
        if word is None:
            raise RnnspecError("E202", f"'{param}' expects {self.description}, found {describe_value(value)}",
                               value.span)
        return word

    def show(self, value: Any) -> str:
        return repr(value)


# Keras's reserved tokens: the padding (mask) token and the out-of-vocabulary token, which it adds itself.
MASK_TOKEN, OOV_TOKEN = "", "[UNK]"


class TextVectorization(LayerType):
    """Strings -> token ids (`int`) or one vector per string. First in a model it implies Keras's string input
    `(None,)` (one string per sample). Its output width is the vocabulary's size, which only a `vocabulary=` in the
    spec or `pad_to_max_tokens` with `max_tokens` fixes; without them it is None until Keras's `adapt`.

    Keras builds it without a vocabulary; a model built from a spec without one needs
    `model.layers[0].adapt(texts)` before it runs. The NumPy backend cannot run it (the vocabulary is data): its
    model starts at the integer output instead."""

    name = "TextVectorization"
    family = "preprocessing"
    takes_strings = True
    params = (
        Param("max_tokens", Int(min=2, nullable=True), None, positional=True,
              doc="the largest vocabulary, padding and OOV tokens included"),
        Param("standardize", Choice(choices=("lower_and_strip_punctuation", "lower", "strip_punctuation"),
                                    nullable=True), "lower_and_strip_punctuation"),
        Param("split", Choice(choices=("whitespace", "character"), nullable=True), "whitespace",
              doc="None: each string is one token"),
        Param("ngrams", Ngrams(), None, doc="n: every n-gram up to n; a tuple: those sizes"),
        Param("output_mode", Choice(choices=("int", "one_hot", "multi_hot", "count", "tf_idf")), "int"),
        Param("output_sequence_length", Int(min=1, nullable=True), None,
              doc="int mode: pad or cut every sequence to this length (None: the longest in the batch)"),
        Param("pad_to_max_tokens", Bool(), False, doc="vector modes: the width is max_tokens"),
        Param("vocabulary", Strings(), None, doc="the words in order; Keras adds '' (padding) and '[UNK]' itself"),
        Param("idf_weights", Floats(), None, doc="tf_idf with a vocabulary: one weight per word"),
        Param("sparse", Bool(), False, doc="vector modes: a sparse tensor in Keras"),
        Param("ragged", Bool(), False, doc="int mode: a ragged tensor in Keras"),
        Param("encoding", Text(), "utf-8"),
    )

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        """Keras's refusals, located; and a vocabulary listing a reserved token (Keras takes some placements of
        them and then counts the vocabulary differently), refused here with the placement that works."""
        mode = a.output_mode
        if mode != "int" and a.output_sequence_length is not None:
            raise RnnspecError("E203", f"output_sequence_length is for output_mode=int, not {mode} (Keras refuses "
                               "it)", spans.get("output_sequence_length"))
        if mode != "int" and a.ragged:
            raise RnnspecError("E203", f"ragged is for output_mode=int, not {mode} (Keras refuses it)",
                               spans.get("ragged"))
        if mode == "int" and a.sparse:
            raise RnnspecError("E203", "sparse is for the vector output modes, not output_mode=int (Keras refuses "
                               "it)", spans.get("sparse"), "use ragged=true for ragged token ids")
        if a.pad_to_max_tokens and a.max_tokens is None:
            raise RnnspecError("E203", "pad_to_max_tokens needs max_tokens (Keras refuses it)",
                               spans.get("pad_to_max_tokens"))
        if a.idf_weights is not None and mode != "tf_idf":
            raise RnnspecError("E203", f"idf_weights is for output_mode=tf_idf, not {mode} (Keras refuses it)",
                               spans.get("idf_weights"))
        vocabulary = a.vocabulary
        if vocabulary is None:
            return
        where = spans.get("vocabulary")
        if not vocabulary:
            raise RnnspecError("E203", "the vocabulary is empty (Keras refuses it)", where)
        repeated = sorted({w for w in vocabulary if vocabulary.count(w) > 1})
        if repeated:
            raise RnnspecError("E203", f"the vocabulary repeats {', '.join(map(repr, repeated))} (Keras refuses it)",
                               where)
        reserved = [w for w in (MASK_TOKEN, OOV_TOKEN) if w in vocabulary]
        if reserved:
            raise RnnspecError("E203", f"the vocabulary lists the reserved token {reserved[0]!r}", where,
                               "list the words only: Keras adds '' (padding) and '[UNK]' (unknown words) itself")
        size = len(vocabulary) + (2 if mode == "int" else 1)
        if a.max_tokens is not None and size > a.max_tokens:
            raise RnnspecError("E203", f"the vocabulary of {len(vocabulary)} words takes {size} tokens with Keras's "
                               f"reserved ones, more than max_tokens={a.max_tokens} (Keras refuses it)",
                               spans.get("max_tokens") or where)
        if mode == "tf_idf" and a.idf_weights is None:
            raise RnnspecError("E203", "tf_idf with a vocabulary needs idf_weights, one per word (Keras refuses it)",
                               where)
        if a.idf_weights is not None and len(a.idf_weights) != len(vocabulary):
            raise RnnspecError("E203", f"idf_weights has {len(a.idf_weights)} weights for {len(vocabulary)} words "
                               "(Keras refuses it)", spans.get("idf_weights"))

    def implied_input(self, a: Args) -> Tensor:
        return Tensor((None,), "string")

    def output(self, a: Args, x: Tensor) -> Tensor:
        """Keras takes one string per sample, `(batch,)` or `(batch, 1)`."""
        if x.dtype != "string" or x.shape[1:] not in ((), (1,)):
            raise ShapeError(
                f"TextVectorization takes one string per sample, but received {x.dtype} values of shape "
                f"{format_shape(x.shape)}", hint="put it first in the model, where it implies Keras's string input "
                "(None,), or give it Input(shape=(), dtype=string)")
        if x.shape[1:] == (1,) and a.output_mode != "int" and not (a.output_mode == "one_hot" and a.split is None):
            computed = self.output_shape(a, x.shape)
            stated = (computed[0], 1, *computed[1:])
            raise ShapeError(f"TextVectorization(output_mode={a.output_mode}) on strings of shape "
                             f"{format_shape(x.shape)}: Keras states the output {format_shape(stated)} but computes "
                             f"{format_shape(computed)}", hint="give one string per sample as "
                             "Input(shape=(), dtype=string)")
        return Tensor(self.output_shape(a, x.shape), "int64" if a.output_mode == "int" else "float32")

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        if a.output_mode == "int":
            return (shape[0], a.output_sequence_length)
        width = self.width(a)
        if a.output_mode == "one_hot" and a.split is not None:
            return (shape[0], None, width)  # one vector per token
        return (shape[0], width)

    @staticmethod
    def width(a: Args) -> int | None:
        """The vector modes' width: max_tokens when padded to it, else the vocabulary and its OOV token."""
        if a.pad_to_max_tokens:
            return a.max_tokens
        return None if a.vocabulary is None else len(a.vocabulary) + 1

    def keras_kwargs(self, a: Args) -> dict[str, Any]:
        kwargs = dict(a)
        for key in ("vocabulary", "idf_weights"):
            if kwargs.get(key) is not None:
                kwargs[key] = list(kwargs[key])
        return kwargs
