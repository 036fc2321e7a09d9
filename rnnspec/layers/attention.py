"""The attention layers: `(query, value) > Attention` or `(query, value, key) > Attention`, with Keras 3's rules.

Mirrors `keras/src/layers/attention/attention.py` and `additive_attention.py`. The output is `(batch, Tq, dim)`
with the value's features, the scores (with `return_attention_scores`) `(batch, Tq, Tv)`. Keras checks little when
it is called on symbolic tensors (its output shape takes the query's steps and the value's features whatever they
are) and fails only when it runs; rnnspec refuses there what cannot run: a query and key of different features, a
value and key of different steps, inputs that are not `(batch, steps, features)`.

`return_attention_scores` and `use_causal_mask` are arguments of Keras's call, not of the constructor: the spec
writes them with the layer's arguments and the Keras backend passes them to each call (`call_options`). Keras
passes the call the list of its inputs' masks (the value's masks the scores, the query's zeroes output rows and is
the output's mask); the masks come from the tensors, so an explicit `mask=` is refused.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

from rnnspec.layers.base import (Args, Bool, Choice, Float, Int, LayerType, Param, ShapeError, Tensor, Weight,
                                 require_known_last)
from rnnspec.shape import Dim, Shape, format_shape

CALL_OPTIONS = (
    Param("return_attention_scores", Bool(), False,
          doc="a call argument: two outputs, the output then the scores (batch, Tq, Tv) after masking and softmax"),
    Param("use_causal_mask", Bool(), False,
          doc="a call argument: step i of the query attends to steps j <= i of the value only (decoder "
              "self-attention)"),
)
DROPOUT = Param("dropout", Float(0.0, 1.0), 0.0, doc="drops attention weights while training; none at inference")


def _listed(shapes: tuple[Shape, ...]) -> str:
    shown = [format_shape(s) for s in shapes]
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]


def _differ(a: Dim, b: Dim) -> bool:
    return a is not None and b is not None and a != b


class BaseAttention(LayerType):
    """Called on (query, value) or (query, value, key); no chain form."""

    family = "attention"
    takes_several = True
    call_arguments = ("mask",)  # Keras's call takes `mask`: the list of the inputs' masks, filled in from them
    call_option_names: ClassVar[tuple[str, ...]] = tuple(p.name for p in CALL_OPTIONS)

    def output(self, a: Args, x: Tensor) -> Tensor:
        raise ShapeError(f"{self.name} attends from a query to a value: write (query, value) > {self.name}",
                         hint=f"name the tensors with bindings (q = ..., v = ...) and give {self.name} the tuple; "
                              "(x, x) is self-attention")

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        shapes = tuple(t.shape for t in inputs)
        query, value, key = self.check(a, shapes)
        dtype = self.output_dtype(a, inputs[0])
        out = Tensor((*query[:-1], value[-1]), dtype)
        if a.return_attention_scores:
            return out, Tensor((*query[:-1], key[-2]), dtype)
        return (out,)

    def output_names(self, a: Mapping[str, Any]) -> tuple[str, ...]:  # type: ignore[override]
        return ("output", "scores") if a.get("return_attention_scores") else ("output",)

    def sequences(self, shapes: tuple[Shape, ...]) -> tuple[Shape, Shape, Shape]:
        """(query, value, key) of a call, refused unless they are 2 or 3 sequences of one batch whose key and value
        have the same steps: the rules every attention layer shares."""
        name = self.name
        if not 2 <= len(shapes) <= 3:
            raise ShapeError(f"{name} takes (query, value) or (query, value, key), but received {len(shapes)} "
                             f"tensors: {_listed(shapes)}", hint=f"write (q, v) > {name} or (q, v, k) > {name}")
        for role, shape in zip(("query", "value", "key"), shapes):
            if len(shape) != 3:
                raise ShapeError(f"{name} takes (batch, steps, features) tensors, but the {role} is "
                                 f"{format_shape(shape)} (received {_listed(shapes)})",
                                 hint="RepeatVector(n) turns a (batch, F) vector into (batch, n, F) steps"
                                 if len(shape) == 2 else "give each input steps and features, e.g. Input(None, 16)")
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) == 3 else value
        if len({s[0] for s in shapes} - {None}) > 1:
            raise ShapeError(f"{name} cannot attend across different batch sizes: received {_listed(shapes)}",
                             hint="give the inputs the same batch_size, or leave it unknown")
        if _differ(value[1], key[1]):
            raise ShapeError(
                f"{name} weighs each value step by its key step, but the value {format_shape(value)} has {value[1]} "
                f"steps and the key {format_shape(key)} {key[1]} (Keras fails when it runs)",
                hint="the key and the value come from the same sequence: give them the same steps")
        return query, value, key

    def check(self, a: Args, shapes: tuple[Shape, ...]) -> tuple[Shape, Shape, Shape]:
        """Attention and AdditiveAttention also compare the query's features with the key's."""
        query, value, key = self.sequences(shapes)
        key_role = "key" if len(shapes) == 3 else "value (the key, when none is given)"
        if _differ(query[-1], key[-1]):
            raise ShapeError(
                f"{self.name} compares the query's features with the key's, but the query {format_shape(query)} has "
                f"{query[-1]} and the {key_role} {format_shape(key)} has {key[-1]} (Keras fails when it runs)",
                hint="bring both to the same size with Dense, or give a key of the query's size: "
                     f"(q, v, k) > {self.name}")
        return query, value, key

    def call_weights(self, a: Args, inputs: tuple[Tensor, ...]) -> list[Weight]:
        return self.weights(a, inputs[0].shape)

    def keras_kwargs(self, a: Args) -> dict[str, Any]:
        kwargs = super().keras_kwargs(a)
        for option in self.call_option_names:
            kwargs.pop(option, None)
        return kwargs

    def call_options(self, a: Args) -> dict[str, Any]:
        return {option: a[option] for option in self.call_option_names if a[option]}


class Attention(BaseAttention):
    """Dot-product (Luong) attention, `(query, value) > Attention`: each query step a softmax mix of value steps."""

    name = "Attention"
    params = (
        Param("use_scale", Bool(), False, doc="a trainable scalar `scale` multiplies the scores"),
        Param("score_mode", Choice(choices=("dot", "concat")), "dot",
              doc="dot: query . key; concat: sum(tanh(query + key)), times a trainable scalar concat_score_weight"),
        DROPOUT,
        Param("seed", Int(min=0, nullable=True), None, doc="the dropout's seed; no effect at inference"),
        *CALL_OPTIONS,
    )

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        weights = [Weight("scale", ())] if a.use_scale else []
        if a.score_mode == "concat":
            weights.append(Weight("concat_score_weight", ()))
        return weights


class AdditiveAttention(BaseAttention):
    """Additive (Bahdanau) attention, `(query, value) > AdditiveAttention`: scores sum(scale * tanh(query + key))."""

    name = "AdditiveAttention"
    params = (
        Param("use_scale", Bool(), True, doc="a trainable `scale` of the query's features weighs the sum"),
        DROPOUT,
        *CALL_OPTIONS,
    )

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        if not a.use_scale:
            return []
        return [Weight("scale", (require_known_last(self.name, shape, "the query's features"),))]
