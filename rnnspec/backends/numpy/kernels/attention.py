"""Attention and AdditiveAttention in NumPy, as keras/src/layers/attention/ computes them at inference.

Keras masks the scores where the value's mask (and the causal mask) is false by subtracting 1e9 (65504 in
float16) before the softmax, then zeroes the output rows where the query's mask is false; the output's mask is the
query's, the scores have none. Dropout acts only while training.
"""
from __future__ import annotations

import math

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.backends.numpy.init import glorot_uniform
from rnnspec.backends.numpy.kernels.core import floating
from rnnspec.errors import RnnspecError


class AttentionKernel(Kernel):
    layer_types = ("Attention", "AdditiveAttention")

    def fresh(self, rng: np.random.Generator) -> list[Array]:
        """Keras's initialisers: ones for Attention's scalars, glorot-uniform for AdditiveAttention's scale."""
        if self.node.type_name == "AdditiveAttention":
            return [glorot_uniform(rng, w.shape) for w in self.specs]
        return [np.ones(w.shape) for w in self.specs]

    def prepare(self) -> None:
        params = list(self.params)
        self.scale = params.pop(0) if self.a.use_scale else None
        self.concat_weight = params.pop(0) if self.a.get("score_mode") == "concat" else None

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        name = self.node.type_name
        raise RnnspecError("E501", f"{name} attends from a query to a value, but the NumPy backend was given one "
                           "tensor", self.node.span, f"write (query, value) > {name}")

    def scores(self, q: Array, k: Array) -> Array:
        if self.node.type_name == "AdditiveAttention":
            summed = np.tanh(q[:, :, None, :] + k[:, None, :, :])
            return np.sum(summed * self.scale if self.scale is not None else summed, axis=-1)
        if self.a.score_mode == "dot":
            scores = q @ np.swapaxes(k, -2, -1)
            return scores * self.scale if self.scale is not None else scores
        added = q[:, :, None, :] + k[:, None, :, :]
        if self.scale is not None:
            added = self.scale * added
        return self.concat_weight * np.sum(np.tanh(added), axis=-1)

    def call(self, inputs: list[Array], masks: list[Mask], initial_state: list[Array] | None = None
             ) -> tuple[list[Array], list[Mask]]:
        arrays = [floating(np.asarray(x), self.dtype) for x in inputs]
        q, v = arrays[0], arrays[1]
        k = arrays[2] if len(arrays) > 2 else v
        q_mask = masks[0] if masks else None
        v_mask = masks[1] if len(masks) > 1 else None
        scores = self.scores(q, k)
        allowed = None if v_mask is None else np.asarray(v_mask, bool)[:, None, :]
        if self.a.use_causal_mask:
            tq, tv = scores.shape[-2:]
            causal = np.arange(tq)[:, None] >= np.arange(tv)[None, :]
            allowed = causal[None] if allowed is None else np.logical_and(allowed, causal[None])
        if allowed is not None:
            big = scores.dtype.type(65504.0 if scores.dtype == np.float16 else 1.0e9)
            scores = np.where(allowed, scores, scores - big)
        shifted = scores - np.max(scores, axis=-1, keepdims=True)
        exp = np.exp(shifted)
        weights = (exp / np.sum(exp, axis=-1, keepdims=True)).astype(scores.dtype, copy=False)
        out = weights @ v
        if q_mask is not None:
            out = np.where(np.asarray(q_mask, bool)[..., None], out, out.dtype.type(0))
        if self.a.return_attention_scores:
            return [out, weights], [q_mask, None]
        return [out], [q_mask]

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        """The output, or the (batch, Tq, Tv, dim) sums of additive or concat scores; the plan sees the query only,
        so Tv is taken as Tq (an estimate where the value is much longer)."""
        return max(math.prod(output_shape), math.prod(input_shape) * input_shape[1])
