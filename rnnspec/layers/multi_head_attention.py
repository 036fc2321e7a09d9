"""MultiHeadAttention: `(query, value) > MultiHeadAttention(2, 4)` or `(query, value, key) > ...`, Keras 3's rules.

Mirrors `keras/src/layers/attention/multi_head_attention.py` for `(batch, steps, features)` inputs: the query, key
and value are projected to `(batch, steps, num_heads, key_dim)` (value: `value_dim`), the heads attend with
scaled dot products, and the output projection gives the query's shape with its last dimension the query's
features (or `output_shape`). The scores (with `return_attention_scores`) are `(batch, num_heads, Tq, Tv)`.

Unlike Attention, Keras calls it with the tensors as separate arguments, `layer(query, value, key)`
(`several_as_arguments`), so Keras's step 6 fills `query_mask`, `value_mask` and `key_mask` from each tensor's
mask; they are not recorded among the node's inputs (its "Connected to" lists the tensors only), and the output's
mask is the query's mask itself (the default `compute_mask`), the scores have none. Every mask and the causal mask
join into one `(batch, Tq, Tv)` attention mask: a masked query step attends uniformly (with
`return_attention_scores` or dropout, Keras's Softmax layer gives it no weight at all), and its output row is not
zeroed.

Keras's call also clears the masks of its input tensors, on the tensors themselves: when Keras runs the model, a
masked tensor that also feeds a layer run after the MultiHeadAttention (another MultiHeadAttention, say) reaches it
without its mask. rnnspec refuses such a model (E300, functional_infer.check_cleared_masks) rather than compute it
otherwise; a copy through Activation(linear) keeps the mask for the other uses.

Keras's symbolic scores are `(batch, num_heads, Tq, Tq)` whatever the value's steps (`compute_output_spec` uses
the query's length twice); rnnspec gives the scores' real shape, which is what Keras computes when it runs, with a
warning (W110) where the two differ, and refuses a layer fed such scores: Keras builds it for the stated shape, and
the model fails when run (see `stated_outputs`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rnnspec.errors import RnnspecError
from rnnspec.layers.attention import CALL_OPTIONS, BaseAttention
from rnnspec.layers.base import (Args, Bool, Float, Int, IntTuple, Param, Tensor, Weight,
                                 is_none, require_known_last)
from rnnspec.layers.objects import weight_arguments
from rnnspec.shape import Shape, format_shape
from rnnspec.errors import Span


@dataclass(frozen=True)
class OptionalBool(Bool):
    """true, false or None (Keras's `flash_attention`: None lets the backend decide)."""

    description: str = "true, false or None"

    def convert(self, param: str, value: Any, resolver: Any) -> bool | None:  # type: ignore[override]
        return None if is_none(value) else super().convert(param, value, resolver)


class MultiHeadAttention(BaseAttention):
    """Multi-head scaled dot-product attention, `(query, value) > MultiHeadAttention(num_heads, key_dim)`."""

    name = "MultiHeadAttention"
    call_arguments = ()  # Keras's call takes query_mask, value_mask, key_mask, filled in from the tensors
    several_as_arguments = True
    params = (
        Param("num_heads", Int(min=1), positional=True, doc="the number of attention heads"),
        Param("key_dim", Int(min=1), positional=True, doc="the size of each head's query and key projections"),
        Param("value_dim", Int(min=1, nullable=True), None, doc="the size of each head's value projection "
              "(None: key_dim)"),
        Param("dropout", Float(0.0, 1.0), 0.0, doc="drops attention weights while training; none at inference"),
        Param("use_bias", Bool(), True, doc="biases on the query, key, value and output projections"),
        Param("output_shape", IntTuple(nullable=True), None,
              doc="the output's last dimension(s) (None: the query's features)"),
        Param("attention_axes", IntTuple(min=-3, nullable=True), None,
              doc="the axes attended over; for (batch, steps, features) inputs only the steps (1 or -2)"),
        Param("sliding_window", Int(min=1, nullable=True), None,
              doc="query step i attends to value steps j with |i - j| < sliding_window only"),
        Param("flash_attention", OptionalBool(), None,
              doc="Keras's fused kernel where the backend has one (None: its default); the same outputs"),
        *weight_arguments(("kernel", "glorot_uniform"), ("bias", "zeros")),
        Param("use_gate", Bool(), False,
              doc="a sigmoid gate (a projection of the query) multiplies each head's output"),
        Param("seed", Int(min=0, nullable=True), None, doc="the dropout's seed; no effect at inference"),
        *CALL_OPTIONS,
    )
    generic = ("activity_regularizer", "dtype", "autocast", "name")
    unsupported = {"trainable": "Keras 3's MultiHeadAttention(trainable=False) leaves its projections' weights "
                                "trainable (the model still trains and counts them): freeze it after building"}

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if a.flash_attention and a.dropout > 0:
            raise RnnspecError("E203", "MultiHeadAttention cannot drop out with flash_attention (Keras refuses it)",
                               spans.get("flash_attention"), "set dropout=0, or leave flash_attention None")
        if a.flash_attention and a.return_attention_scores:
            raise RnnspecError("E203", "MultiHeadAttention returns no attention scores with flash_attention (Keras "
                               "fails when it runs)", spans.get("flash_attention"),
                               "leave flash_attention None to have the scores")
        if a.attention_axes is not None and tuple(x % 3 if x < 0 else x for x in a.attention_axes) != (1,):
            raise RnnspecError("E203", f"MultiHeadAttention's attention_axes={format_shape(a.attention_axes)} is "
                               "not supported: rnnspec takes (batch, steps, features) inputs, attended over the "
                               "steps", spans.get("attention_axes"), "leave attention_axes None (or give 1)")

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        query, value, key = self.check(a, tuple(t.shape for t in inputs))
        dtype = self.output_dtype(a, inputs[0])
        out = Tensor((*query[:-1], *(a.output_shape or (query[-1],))), dtype)
        if a.return_attention_scores:
            return out, Tensor((query[0], a.num_heads, query[1], value[1]), dtype)
        return (out,)

    def stated_outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Shape | None, ...]:
        """Keras's `compute_output_spec` gives the scores the query's length twice: `(batch, heads, Tq, Tq)`."""
        query, value = inputs[0].shape, inputs[1].shape
        if not a.return_attention_scores or query[1] == value[1]:
            return ()
        return (None, (query[0], a.num_heads, query[1], query[1]))

    def check(self, a: Args, shapes: tuple[Shape, ...]) -> tuple[Shape, Shape, Shape]:
        """Its projections need every input's features known."""
        query, value, key = self.sequences(shapes)
        for role, shape in zip(("query", "value", "key"), shapes):
            require_known_last(self.name, shape, f"the {role}'s features")
        return query, value, key

    def call_weights(self, a: Args, inputs: tuple[Tensor, ...]) -> list[Weight]:
        query, value, key = self.check(a, tuple(t.shape for t in inputs))
        heads, key_dim = a.num_heads, a.key_dim
        value_dim = a.value_dim or key_dim
        out = a.output_shape or (query[-1],)

        def dense(features: Any, *shape: int) -> list[Weight]:
            kernel = Weight("kernel", (features, *shape))
            return [kernel, Weight("bias", tuple(shape))] if a.use_bias else [kernel]

        weights = dense(query[-1], heads, key_dim) + dense(key[-1], heads, key_dim)
        if a.use_gate:
            weights += dense(query[-1], heads, value_dim)
        weights += dense(value[-1], heads, value_dim)
        kernel = Weight("kernel", (heads, value_dim, *out))
        weights += [kernel, Weight("bias", tuple(out))] if a.use_bias else [kernel]
        return weights

    def weights(self, a: Args, shape: Shape) -> list[Weight]:
        """The weights of self-attention on `shape` (a chain's view); a call builds them from its inputs."""
        return self.call_weights(a, (Tensor(shape, "float32"),) * 2)
