"""CategoryEncoding in NumPy, and TextVectorization refused: its vocabulary is data the NumPy backend never holds."""
from __future__ import annotations

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.errors import RnnspecError
from rnnspec.layers.base import LayerNode
from rnnspec.shape import Shape


class CategoryEncoding(Kernel):
    """one_hot: a row of `num_tokens` per id (an id outside 0..n-1 gives zeros, as in Keras), after dropping a last
    axis of 1; multi_hot and count: one row per sample, whose ids must all be in range (Keras's bincount fails on
    others). Always dense (Keras's `sparse` changes the tensor type, not the values); the mask stops here."""

    layer_types = ("CategoryEncoding",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        ids = np.asarray(x)
        if not np.issubdtype(ids.dtype, np.integer):
            ids = ids.astype(np.int64)  # Keras truncates float ids
        n = self.a.num_tokens
        if self.a.output_mode == "one_hot":
            if ids.ndim > 1 and ids.shape[-1] == 1:
                ids = ids[..., 0]
            return (ids[..., None] == np.arange(n)).astype(self.dtype), None
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            bad = int(ids.min()) if ids.min() < 0 else int(ids.max())
            where = tuple(int(i) for i in np.argwhere(ids == bad)[0])
            raise RnnspecError("E501", f"CategoryEncoding takes ids in 0..{n - 1} (num_tokens={n}); found {bad:,} "
                               f"at {where}", self.node.span, f"Keras refuses them too in {self.a.output_mode} mode")
        hot = ids[..., None] == np.arange(n)
        out = hot.any(axis=1) if self.a.output_mode == "multi_hot" else hot.sum(axis=1)
        return out.astype(self.dtype), None


class TextVectorization(Kernel):
    """Refused where the model is made, located at the layer: the NumPy model takes the token ids instead."""

    layer_types = ("TextVectorization",)

    def __init__(self, node: LayerNode, input_shape: Shape, dtype: np.dtype) -> None:
        mode = node.args.output_mode
        taken = (f"Input({node.args.output_sequence_length or 'None'}, dtype=int64)" if mode == "int"
                 else "Input(<vocabulary size>)")
        raise RnnspecError(
            "E501", "the NumPy backend cannot run TextVectorization: its vocabulary is data, not part of the spec",
            node.span, f"start the NumPy model at its output instead: replace TextVectorization(...) with {taken}, "
            "and feed it what Keras's TextVectorization (adapted or given the vocabulary) returns for your texts")
