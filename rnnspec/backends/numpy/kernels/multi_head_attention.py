"""MultiHeadAttention in NumPy, as keras/src/layers/attention/multi_head_attention.py computes it at inference.

The query, key and value are projected per head (EinsumDense kernels `(features, heads, dim)`), the query scaled
by 1/sqrt(key_dim); the masks of the query, value and key (those given), the causal mask and the sliding window
join into one `(batch, Tq, Tv)` attention mask, whose false places take a large negative score before the softmax
(a query step masked everywhere attends uniformly, or, where Keras computes the scores through its Softmax layer,
with `return_attention_scores` or dropout, not at all; its output row is not zeroed). The output's mask is the
query's, the scores have none. Dropout acts only while training.
"""
from __future__ import annotations

import math

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.backends.numpy.kernels.core import floating
from rnnspec.errors import RnnspecError


class MultiHeadAttentionKernel(Kernel):
    layer_types = ("MultiHeadAttention",)

    def prepare(self) -> None:
        params = list(self.params)
        use_bias = self.a.use_bias

        def dense() -> tuple[Array, Array | None]:
            kernel = params.pop(0)
            return kernel, params.pop(0) if use_bias else None

        self.query, self.key = dense(), dense()
        self.gate = dense() if self.a.use_gate else None
        self.value, self.output = dense(), dense()

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        raise RnnspecError("E501", "MultiHeadAttention attends from a query to a value, but the NumPy backend was "
                           "given one tensor", self.node.span, "write (query, value) > MultiHeadAttention(...)")

    @staticmethod
    def project(x: Array, dense: tuple[Array, Array | None]) -> Array:
        kernel, bias = dense
        y = np.einsum("btf,fnh->btnh", x, kernel)
        return y + bias if bias is not None else y

    def call(self, inputs: list[Array], masks: list[Mask], initial_state: list[Array] | None = None
             ) -> tuple[list[Array], list[Mask]]:
        arrays = [floating(np.asarray(x), self.dtype) for x in inputs]
        q_in, v_in = arrays[0], arrays[1]
        k_in = arrays[2] if len(arrays) > 2 else v_in
        q = self.project(q_in, self.query) * q_in.dtype.type(1.0 / math.sqrt(float(self.a.key_dim)))
        k = self.project(k_in, self.key)
        v = self.project(v_in, self.value)
        scores = np.einsum("bsnh,btnh->bnts", k, q)
        tq, tv = scores.shape[-2:]
        allowed = None
        for mask, axis in zip(masks, (-1, -2, -2)):  # the query's (batch, Tq, 1), the value's and key's (batch, 1, Tv)
            if mask is not None:
                m = np.expand_dims(np.asarray(mask, bool), axis)
                allowed = m if allowed is None else np.logical_and(allowed, m)
        rows, cols = np.arange(tq)[:, None], np.arange(tv)[None, :]
        if self.a.use_causal_mask:
            allowed = rows >= cols if allowed is None else np.logical_and(allowed, rows >= cols)
        if self.a.sliding_window is not None:
            band = np.abs(rows - cols) < self.a.sliding_window
            allowed = band if allowed is None else np.logical_and(allowed, band)
        if allowed is not None:
            big = scores.dtype.type(-65504.0 if scores.dtype == np.float16 else -1.0e9)
            scores = np.where(allowed[:, None] if allowed.ndim == 3 else allowed, scores, big)
        shifted = scores - np.max(scores, axis=-1, keepdims=True)
        exp = np.exp(shifted)
        weights = (exp / np.sum(exp, axis=-1, keepdims=True)).astype(scores.dtype, copy=False)
        if allowed is not None and (self.a.return_attention_scores or self.a.dropout > 0):
            # Keras's Softmax layer (its path with scores or dropout) zeroes the masked places, so a query step
            # masked everywhere gets no weight; its fused dot_product_attention (otherwise) leaves it uniform
            weights = np.where(allowed[:, None] if allowed.ndim == 3 else allowed, weights, weights.dtype.type(0))
        heads = np.einsum("bnts,bsnh->btnh", weights, v)
        if self.gate is not None:
            heads = heads / (1.0 + np.exp(-self.project(q_in, self.gate)))
        kernel, bias = self.output
        n, h = kernel.shape[:2]
        out = heads.reshape(*heads.shape[:2], n * h) @ kernel.reshape(n * h, -1)
        out = out.reshape(*out.shape[:2], *kernel.shape[2:])
        if bias is not None:
            out = out + bias
        out = out.astype(self.dtype, copy=False)
        q_mask = masks[0] if masks else None
        if self.a.return_attention_scores:
            return [out, weights], [q_mask, None]
        return [out], [q_mask]

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        """The (batch, heads, Tq, Tv) scores; the plan sees the query only, so Tv is taken as Tq."""
        return max(math.prod(output_shape), input_shape[0] * self.a.num_heads * input_shape[1] ** 2)
